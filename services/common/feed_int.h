/* feed_int.h — helpers shared by feed_server.c and feed_client.c (not public).
 * Names follow the libuv convention: tam__ = internal, non-static. */
#ifndef TAM_FEED_INT_H
#define TAM_FEED_INT_H
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define TAM__FEED_META_MAX 24 /* fixarray + two uint64: 1 + 9 + 9 bytes */

/* CLOCK_MONOTONIC in milliseconds. Cannot fail. */
int64_t tam__feed_now_ms(void);

/* A new socket of the given type with ZMQ_LINGER set; NULL (logged with
 * what) if zmq_socket or setsockopt fails. */
void *tam__feed_socket(void *zctx, int type, int linger_ms, const char *what);

/* Sets an int socket option; 0 or TAM_EIO (logged with what). */
int tam__feed_setopt_int(void *sock, int opt, int value, const char *what);

/* Binds sock to endpoint; 0 or TAM_EIO (logged with the endpoint). For an
 * ipc:// path where a live process still listens after 500 ms, refuses
 * instead of letting zmq_bind silently take the path over (a stale file,
 * left by a process that died, is replaced). */
int tam__feed_bind(void *sock, const char *endpoint);

/* Closes *sock if not NULL and sets it to NULL. */
void tam__feed_close(void **sock);

/* Writes the meta frame msgpack [epoch, seq] into out (at least
 * TAM__FEED_META_MAX bytes) and returns its length. Cannot fail. */
size_t tam__feed_meta_encode(uint8_t *out, uint64_t epoch, uint64_t seq);

/* Decodes a meta frame: exactly a msgpack array of two non-negative
 * integers. Runs tam_mp_check first. Returns 0; TAM_ETOOBIG (longer than
 * TAM__FEED_META_MAX), the tam_mp_check codes, TAM_ETYPE (anything else). */
int tam__feed_meta_decode(const void *buf, size_t len, uint64_t *epoch, uint64_t *seq);

/* Receives one whole message without waiting. Its first min(total, max)
 * frames are left initialised in f[] (close them with
 * tam__feed_close_frames); further frames are received and dropped.
 * Returns the total number of frames, 0 if no message was waiting (or
 * EINTR), TAM_EIO on socket failure (nothing left open). */
int tam__feed_recv(void *sock, zmq_msg_t *f, int max);

/* Closes f[0..n). */
void tam__feed_close_frames(zmq_msg_t *f, int n);

/* 0 if items[0..n) holds sock and says it is not readable; 1 otherwise
 * (items NULL, sock not among them, or POLLIN set). */
int tam__feed_readable(const zmq_pollitem_t *items, int n, const void *sock);

/* 1 if frame f holds exactly the bytes s (NUL-terminated). */
int tam__feed_frame_is(zmq_msg_t *f, const char *s);

#endif
