/* The supervisor notification (see tam/notify.h). */
#include "tam/notify.h"

#ifdef TAM_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

int tam_notify(const char *state)
{
    return sd_notify(0, state);
}

#else
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* One datagram to the AF_UNIX socket named by $NOTIFY_SOCKET; a leading '@'
 * names an abstract socket. */
int tam_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path || !state)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path)
        return -EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    int err = n < 0 ? -errno : 1;
    close(fd);
    return err;
}
#endif
