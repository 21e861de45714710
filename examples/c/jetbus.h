/*
 * jetbus protocol v1 in C, on libnats (nats.c 3.4.1) and jansson 2.14, both from Debian bookworm:
 *
 *   cc -O2 -o jetbus-example *.c $(pkg-config --cflags --libs libnats jansson libcrypto) -lpthread
 *   NATS_URL=nats://127.0.0.1:4222 ./jetbus-example worker --queue default --type c:step
 *   NATS_URL=nats://127.0.0.1:4222 ./jetbus-example dispatch --foreign c:step --ts ts
 *
 * Tested with gcc 12.2, nats.c 3.4.1, jansson 2.14, OpenSSL 3.0 (for sha256) and nats-server 2.15.1.
 */
#ifndef JETBUS_EXAMPLE_H
#define JETBUS_EXAMPLE_H

#include <jansson.h>
#include <nats/nats.h>
#include <stdint.h>

#define JOBS_STREAM "JETBUS_JOBS"

/* common.c */
int64_t now_ms(void);
void new_id(char *out, size_t size, const char *prefix);
void random_hex(char *out, int bytes);
void consumer_name(char *out, size_t size, const char *queue, const char *type);
int64_t env_int(const char *key, int64_t fallback);
/* Stores `body` (a JSON value, consumed) on `subject` and waits for the PubAck. `trace_from`: copy its trace
 * headers; `headers`: more, as a NULL-terminated list of name, value pairs (or NULL). */
natsStatus publish_json(jsCtx *js, const char *subject, json_t *body, const char *msg_id, natsMsg *trace_from,
                        const char **headers);
json_t *error_body(const char *code, const char *message, int retryable);

/* worker.c: a handler returns a result (or NULL), or sets *code and *message (static strings) and returns NULL. */
typedef struct job {
    json_t *env;     /* the whole envelope */
    json_t *payload; /* borrowed from env */
    int64_t attempt;
    int64_t deadline_ms; /* 0 = no timeout */
    natsMsg *msg;
    int64_t beat_every_ms;
} job_t;
/* Call during long work: sends +WPI when due, and says whether the attempt's timeout has passed. */
int job_working(job_t *job);
#define JOB_VANISH "vanish" /* code: behave as a worker that died mid-run (no outcome, no ack) */
typedef json_t *(*handler_fn)(job_t *job, const char **code, const char **message);
int run_worker(natsConnection *nc, const char *queue, const char *type, handler_fn handler);

/* script.c */
json_t *script_step(job_t *job, const char **code, const char **message);

/* client.c */
int dispatch_demo(natsConnection *nc, const char *queue, const char *foreign, const char *ts);

#endif
