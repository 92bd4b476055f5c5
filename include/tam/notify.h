/* tam/notify.h — tells a supervisor (systemd, Type=notify) how the service is.
 *
 * tam_notify() sends one state line ("READY=1", "STOPPING=1", "STATUS=...")
 * to $NOTIFY_SOCKET. Built with libsystemd (pkg-config libsystemd found at
 * configure time) it is sd_notify(); without it, the same datagram is sent
 * by a few lines here (the protocol is documented as stable by systemd).
 * Without $NOTIFY_SOCKET (tests, a shell, another supervisor) it does nothing.
 */
#ifndef TAM_NOTIFY_H
#define TAM_NOTIFY_H

#ifdef __cplusplus
extern "C" {
#endif

/* Sends state to the supervisor if there is one. Returns 1 when sent, 0 when
 * there is no supervisor to tell, a negative errno when sending failed (the
 * caller logs it and goes on: notification is never fatal). */
int tam_notify(const char *state);

#ifdef __cplusplus
}
#endif
#endif
