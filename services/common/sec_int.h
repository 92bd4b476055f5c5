/* sec_int.h — internals of tam/sec.h shared by sec.c (setup, trust store,
 * sockets) and sec_zap.c (the ZAP handler thread). */
#ifndef TAM_SEC_INT_H
#define TAM_SEC_INT_H
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include "tam/sec.h"

#define S_TOKEN_LEN 32 /* hex digits of 128 random bits */

typedef struct {
    tam_keyfile_t key;               /* public part only */
    uint8_t pub[32];             /* binary public key, as ZAP gives it */
    char token[S_TOKEN_LEN + 1]; /* the User-Id our ZAP handler answers with */
} tam__sec_entry_t;

typedef struct {
    char endpoint[TAM_CFG_STR_MAX];
    char name[TAM_PRINCIPAL_ID_MAX + 1];
} tam__sec_ep_t;

struct tam_sec {
    tam_sec_mode_t mode;
    void *zctx;
    char keys_dir[TAM_CFG_STR_MAX];
    tam_keyfile_t self;      /* with the secret */
    uint8_t self_pub[32], self_sec[32];

    pthread_mutex_t mu;  /* guards store, nstore, revocations, eps */
    tam__sec_entry_t *store;
    size_t nstore;
    uint64_t revocations;
    tam__sec_ep_t *eps;
    size_t neps, cap_eps;
    struct timespec dir_mtime;

    pthread_t zap;
    bool zap_running;
    bool zap_stopped;          /* by the test hook: never restarted */
    volatile sig_atomic_t zap_stop;
    int zap_wake[2];           /* pipe: a byte wakes the thread to stop at once */
    pthread_mutex_t start_mu;  /* the thread says whether it bound */
    pthread_cond_t start_cv;
    int zap_started;           /* 0 waiting, 1 bound, -1 failed */
};

/* Starts / stops the ZAP thread (sec_zap.c). */
int tam__sec_zap_start(tam_sec_t *s);
void tam__sec_zap_join(tam_sec_t *s);

/* The key name an entry with this binary public key has, copied with its
 * token into *e; false if the key is not in the store. */
bool tam__sec_find_pub(tam_sec_t *s, const uint8_t pub[32], tam__sec_entry_t *e);

/* Stat of keys_dir's mtime; true if it differs from the one of the last load. */
bool tam__sec_dir_changed(tam_sec_t *s);

/* Set by the SIGHUP handler; each ZAP thread reloads when it sees it change. */
extern volatile sig_atomic_t tam__sec_hup;

#endif
