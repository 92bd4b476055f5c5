/* rpc_backlog.h — answers waiting for a slow peer (internal to rpc_server.c).
 *
 * The ROUTER's own queue per peer is kept short (TAM_RPC_PIPE_HWM answers),
 * because libzmq bounds it in messages, not bytes: 4,096 answers of 512 KiB
 * to a client that never reads cost 2 GB. Answers that do not fit wait here,
 * per peer, up to TAM_RPC_PEER_BYTES bytes and TAM_RPC_ANSWER_HWM answers;
 * beyond that they are dropped (the client resends the same id and gets the
 * stored answer). A peer that takes nothing for TAM_RPC_STUCK_MS loses its
 * backlog, and a peer that is gone loses it at once: the memory goes back.
 */
#ifndef TAM_RPC_BACKLOG_H
#define TAM_RPC_BACKLOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tam_rpc__backlog tam_rpc__backlog_t;

typedef struct {
    uint64_t delivered; /* answers sent from the backlog */
    uint64_t dropped;   /* answers dropped: over a cap, peer gone or stuck */
} tam_rpc__backlog_stats_t;

tam_rpc__backlog_t *tam_rpc__backlog_new(void);
void tam_rpc__backlog_destroy(tam_rpc__backlog_t **b);

/* True if the peer has answers waiting (new ones must queue behind them). */
bool tam_rpc__backlog_has(const tam_rpc__backlog_t *b, const void *route, size_t rlen);

/* Queues [route, "", env, body] for the peer. Returns 0; TAM_ETOOBIG (over
 * the peer's caps: dropped); TAM_ENOMEM. */
int tam_rpc__backlog_push(tam_rpc__backlog_t *b, const void *route, size_t rlen, const void *env,
                          size_t elen, const void *body, size_t blen, int64_t now_ms);

/* Sends what the peers take now (never blocks), drops the backlog of peers
 * gone or stuck. Returns the ms until it wants to run again, -1 if empty. */
int tam_rpc__backlog_flush(tam_rpc__backlog_t *b, void *sock, int64_t now_ms,
                           tam_rpc__backlog_stats_t *st);

/* The same, but a peer whose pipe is full is waited for (a blocking send,
 * each at most the socket's ZMQ_SNDTIMEO) while budget_ms has not passed
 * since now_ms; a peer that takes nothing in that time keeps its backoff. */
int tam_rpc__backlog_drain(tam_rpc__backlog_t *b, void *sock, int64_t now_ms, int budget_ms,
                           tam_rpc__backlog_stats_t *st);

/* CLOCK_MONOTONIC in ms (rpc_server.c). */
int64_t tam_rpc__now_ms(void);

/* Bytes and answers waiting, over all peers. */
size_t tam_rpc__backlog_bytes(const tam_rpc__backlog_t *b);
#endif
