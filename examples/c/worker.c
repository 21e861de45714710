/* A worker for one (queue, type), one job at a time, following docs/protocol.md "Implementing a worker". */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jetbus.h"

#define HOLD_MS 1000 /* a job due within this long is held, not parked */
#define MAX_CANCELLED 4096

static struct {
    natsConnection *nc;
    jsCtx *js;
    const char *queue, *type;
    char id[32], consumer[160];
    int64_t ack_wait_ms, heartbeat_ms;
    pthread_mutex_t mu;
    char *cancelled[MAX_CANCELLED];
    int ncancelled;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stopping = 0;
static void on_term(int sig) {
    (void)sig;
    stopping = 1;
}

int job_working(job_t *job) {
    static int64_t last = 0;
    int64_t now = now_ms();
    if (now - last >= job->beat_every_ms) {
        natsMsg_InProgress(job->msg, NULL); /* +WPI: resets the ack wait */
        last = now;
    }
    return !job->deadline_ms || now < job->deadline_ms;
}

static int is_cancelled(const char *batch_id) {
    int found = 0;
    pthread_mutex_lock(&w.mu);
    for (int i = 0; i < w.ncancelled && !found; i++) found = strcmp(w.cancelled[i], batch_id) == 0;
    pthread_mutex_unlock(&w.mu);
    return found;
}

/* KV jetbus-cancels: every key is a cancelled batch; its members are skipped. */
static void *watch_cancels(void *arg) {
    kvWatcher *watcher = arg;
    for (;;) {
        kvEntry *e = NULL;
        if (kvWatcher_Next(&e, watcher, 60000) != NATS_OK) continue;
        if (e && kvEntry_Operation(e) == kvOp_Put) {
            pthread_mutex_lock(&w.mu);
            if (w.ncancelled < MAX_CANCELLED) w.cancelled[w.ncancelled++] = strdup(kvEntry_Key(e));
            pthread_mutex_unlock(&w.mu);
        }
        kvEntry_Destroy(e);
    }
    return NULL;
}

/* KV jetbus-workers: without a live record, workflows waiting on this type fail with NO_WORKER. */
static void *heartbeat(void *arg) {
    kvStore *kv = arg;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    int64_t started = now_ms();
    for (;;) {
        json_t *rec = json_pack("{s:i, s:s, s:s, s:i, s:I, s:I, s:I, s:[{s:s, s:s, s:i}]}", "v", 1, "id", w.id,
                                "host", host, "pid", (int)getpid(), "started_at", (json_int_t)started, "heartbeat_at",
                                (json_int_t)now_ms(), "heartbeat_ms", (json_int_t)w.heartbeat_ms, "serves", "queue",
                                w.queue, "type", w.type, "concurrency", 1);
        char *s = json_dumps(rec, JSON_COMPACT);
        uint64_t rev = 0;
        if (kvStore_PutString(&rev, kv, w.id, s) != NATS_OK) fprintf(stderr, "registry heartbeat failed\n");
        free(s);
        json_decref(rec);
        nats_Sleep(w.heartbeat_ms);
    }
    return NULL;
}

/* The jetbus services create the streams; a worker that starts first waits for them. */
static natsStatus wait_for_stream(const char *name) {
    for (;;) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetStreamInfo(&si, w.js, name, NULL, &jerr);
        jsStreamInfo_Destroy(si);
        if (s == NATS_OK || jerr != JSStreamNotFoundErr) return s;
        fprintf(stderr, "waiting for stream %s (start a jetbus dispatcher)\n", name);
        nats_Sleep(1000);
    }
}

/* The one place that knows how to wait before a job runs (retry backoff, release, not due yet). Consumes env.
 * Up to HOLD_MS: on the jobs subject with not_before, and whoever receives it holds it. Longer: a Nats-Schedule
 * message on its own jetbus.wait.… subject that the server fires into jetbus.due.… (which the jobs stream
 * sources) 300 ms early; the receiving worker holds the rest. */
static natsStatus publish_later(json_t *env, int64_t wait_ms, const char *msg_id, natsMsg *trace_from) {
    char subject[640], due_s[32], at[64], target[512], token[256];
    const char *q = json_string_value(json_object_get(env, "queue")), *t = json_string_value(json_object_get(env, "type"));
    json_object_del(env, "not_before");
    if (wait_ms <= 0) {
        snprintf(subject, sizeof subject, "jetbus.jobs.%s.%s", q, t);
        return publish_json(w.js, subject, env, msg_id, trace_from, NULL);
    }
    int64_t due = now_ms() + wait_ms;
    json_object_set_new(env, "not_before", json_integer(due));
    snprintf(due_s, sizeof due_s, "%lld", (long long)due);
    const char *extra[7] = {"Jetbus-Not-Before", due_s, NULL};
    if (wait_ms <= HOLD_MS) {
        snprintf(subject, sizeof subject, "jetbus.jobs.%s.%s", q, t);
        return publish_json(w.js, subject, env, msg_id, trace_from, extra);
    }
    time_t secs = (time_t)((due - 300) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(at, sizeof at, "@at %Y-%m-%dT%H:%M:%S", &tm);
    snprintf(at + n, sizeof at - n, ".%03dZ", (int)((due - 300) % 1000));
    snprintf(target, sizeof target, "jetbus.due.%s.%s", q, t);
    extra[2] = "Nats-Schedule", extra[3] = at, extra[4] = "Nats-Schedule-Target", extra[5] = target;
    size_t i = 0; /* one subject per schedule (a second would replace it): the msg id, made a safe token */
    for (; msg_id[i] && i < sizeof token - 1; i++) {
        char c = msg_id[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '@';
        token[i] = ok ? c : '_';
    }
    token[i] = 0;
    snprintf(subject, sizeof subject, "jetbus.wait.%s.%s.%s", q, t, token);
    return publish_json(w.js, subject, env, msg_id, trace_from, extra);
}

/* Failed runs before this message, plus redeliveries: each means an earlier holder died mid-run. */
static int64_t attempt_of(json_t *env, int64_t delivered) {
    return json_integer_value(json_object_get(env, "attempt")) + delivered - 1;
}

static const char *str(json_t *env, const char *key) { return json_string_value(json_object_get(env, key)); }

/* The outcome stored (PubAck awaited), then the ack: a crash in between redelivers the job. */
static natsStatus settle(natsMsg *m, json_t *env, json_t *outcome, uint64_t seq, int64_t delivered) {
    char subject[128], id[512];
    const char *keys[] = {"chain", "batch", "replay"};
    for (int i = 0; i < 3; i++)
        if (json_object_get(env, keys[i])) json_object_set(outcome, keys[i], json_object_get(env, keys[i]));
    json_t *cb = json_object_get(env, "callback");
    if (cb)
        json_object_set_new(outcome, "callback", json_pack("{s:O, s:O, s:O}", "kind", json_object_get(cb, "kind"),
                                                           "workflow", json_object_get(cb, "workflow"), "workflow_id",
                                                           json_object_get(cb, "workflow_id")));
    const char *tp = NULL;
    if (natsMsgHeader_Get(m, "traceparent", &tp) == NATS_OK && tp)
        json_object_set_new(outcome, "traceparent", json_string(tp));
    printf("%s attempt %lld: %s\n", str(env, "job_id"), (long long)json_integer_value(json_object_get(outcome, "attempt")),
           str(outcome, "status"));
    fflush(stdout);
    snprintf(subject, sizeof subject, "jetbus.outcomes.%s", w.id);
    snprintf(id, sizeof id, "%s@o%llu.%lld", str(env, "job_id"), (unsigned long long)seq, (long long)delivered);
    natsStatus s = publish_json(w.js, subject, json_pack("{s:i, s:[o]}", "v", 1, "outcomes", outcome), id, NULL, NULL);
    return s == NATS_OK ? natsMsg_Ack(m, NULL) : s;
}

static json_t *outcome(json_t *env, const char *status, int64_t attempt, int64_t started) {
    return json_pack("{s:O, s:O, s:O, s:O, s:I, s:s, s:I, s:I}", "job_id", json_object_get(env, "job_id"),
                     "dispatch_id", json_object_get(env, "dispatch_id"), "type", json_object_get(env, "type"), "queue",
                     json_object_get(env, "queue"), "attempt", (json_int_t)attempt, "status", status, "started_at",
                     (json_int_t)started, "finished_at", (json_int_t)now_ms());
}

static natsStatus dead_letter(natsMsg *m, json_t *env, const char *reason, json_t *error, int64_t attempts,
                              uint64_t seq) {
    char subject[512], id[64];
    /* A chain's or batch's job carries "@<workflow id>" before the type (protocol §2, dead letters). */
    json_t *wf = json_object_get(env, "batch");
    if (!wf) wf = json_object_get(env, "chain");
    const char *wf_id = wf ? str(wf, "id") : NULL;
    json_t *cb = json_object_get(env, "callback");
    if (!wf_id && cb) wf_id = str(cb, "workflow_id");
    if (wf_id && *wf_id)
        snprintf(subject, sizeof subject, "jetbus.dlq.%s.@%s.%s", str(env, "queue"), wf_id, str(env, "type"));
    else
        snprintf(subject, sizeof subject, "jetbus.dlq.%s.%s", str(env, "queue"), str(env, "type"));
    snprintf(id, sizeof id, "dlq-%s-%llu", JOBS_STREAM, (unsigned long long)seq);
    return publish_json(w.js, subject,
                        json_pack("{s:i, s:s, s:O, s:s, s:O, s:I, s:I}", "v", 1, "reason", reason, "envelope", env,
                                  "source_subject", natsMsg_GetSubject(m), "error", error, "attempts",
                                  (json_int_t)attempts, "failed_at", (json_int_t)now_ms()),
                        id, NULL, NULL);
}

static int valid_envelope(json_t *env) {
    const char *keys[] = {"job_id", "dispatch_id", "type", "queue"};
    if (!json_is_object(env) || json_integer_value(json_object_get(env, "v")) != 1) return 0;
    for (int i = 0; i < 4; i++)
        if (!json_is_string(json_object_get(env, keys[i]))) return 0;
    json_t *opts = json_object_get(env, "options");
    return json_is_integer(json_object_get(env, "attempt")) && (!opts || json_is_object(opts));
}

static natsStatus process(natsMsg *m, handler_fn handler) {
    jsMsgMetaData *md = NULL;
    natsStatus s = natsMsg_GetMetaData(&md, m);
    if (s != NATS_OK) return s;
    uint64_t seq = md->Sequence.Stream;
    int64_t delivered = (int64_t)md->NumDelivered;
    jsMsgMetaData_Destroy(md);
    char id[512];
    json_error_t jerr;
    json_t *env = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &jerr);
    if (!valid_envelope(env)) { /* step 1: never leave a bad message unacked */
        char subject[128], raw[65536];
        int n = natsMsg_GetDataLength(m) < (int)sizeof raw - 1 ? natsMsg_GetDataLength(m) : (int)sizeof raw - 1;
        memcpy(raw, natsMsg_GetData(m), (size_t)n);
        raw[n] = 0;
        snprintf(subject, sizeof subject, "jetbus.dlq._invalid.%s", w.id);
        snprintf(id, sizeof id, "dlq-%s-%llu", JOBS_STREAM, (unsigned long long)seq);
        s = publish_json(w.js, subject,
                         json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:o}", "v", 1, "reason", "malformed", "raw", raw,
                                   "source_subject", natsMsg_GetSubject(m), "attempts", (json_int_t)delivered,
                                   "failed_at", (json_int_t)now_ms(), "error",
                                   error_body("MALFORMED", "not a v1 job envelope", 0)),
                         id, NULL, NULL);
        json_decref(env);
        return s == NATS_OK ? natsMsg_Ack(m, NULL) : s;
    }
    json_t *opts = json_object_get(env, "options");
    int64_t attempt = attempt_of(env, delivered), retry = json_integer_value(json_object_get(opts, "retry"));
    int64_t started = now_ms(), timeout_ms = json_integer_value(json_object_get(opts, "timeout_ms"));
    json_t *batch = json_object_get(env, "batch");
    if (batch && !json_object_get(env, "callback") && is_cancelled(str(batch, "id"))) { /* step 2 */
        s = settle(m, env, outcome(env, "skipped", attempt, started), seq, delivered);
        json_decref(env);
        return s;
    }
    int64_t wait = json_integer_value(json_object_get(env, "not_before")) - now_ms(); /* step 3 */
    job_t job = {env, json_object_get(env, "payload"), attempt, 0, m, w.ack_wait_ms / 3};
    if (wait > HOLD_MS) {
        snprintf(id, sizeof id, "%s@w%llu", str(env, "job_id"), (unsigned long long)seq);
        s = publish_later(json_deep_copy(env), wait, id, m);
        json_decref(env);
        return s == NATS_OK ? natsMsg_Ack(m, NULL) : s;
    }
    for (int64_t end = now_ms() + wait; now_ms() < end; nats_Sleep(10)) job_working(&job);
    if (attempt > retry) { /* step 5: every earlier holder died mid-run */
        json_t *error = error_body("WORKER_DIED", "delivered more often than its retries allow, never finished", 0);
        s = dead_letter(m, env, "worker_died", error, attempt, seq);
        json_t *o = outcome(env, "failed", retry, started);
        json_object_set_new(o, "error", error);
        if (s == NATS_OK) s = settle(m, env, o, seq, delivered);
        else json_decref(o);
        json_decref(env);
        return s;
    }
    const char *code = NULL, *message = NULL; /* step 6 */
    job.deadline_ms = timeout_ms > 0 ? started + timeout_ms : 0;
    json_t *result = handler(&job, &code, &message);
    if (code && strcmp(code, JOB_VANISH) == 0) { /* as a dead worker: no outcome, no ack, no more +WPI */
        json_decref(env);
        return NATS_OK;
    }
    if (job.deadline_ms && now_ms() >= job.deadline_ms) {
        json_decref(result);
        result = NULL;
        code = "TIMEOUT";
        message = "attempt timed out";
    }
    if (!code) { /* step 7 */
        json_t *o = outcome(env, "succeeded", attempt, started);
        if (result) json_object_set_new(o, "result", result);
        s = settle(m, env, o, seq, delivered);
        json_decref(env);
        return s;
    }
    json_t *error = error_body(code, message ? message : code, strcmp(code, "PERMANENT") != 0);
    json_t *o = NULL;
    if (strcmp(code, "PERMANENT") == 0 || attempt >= retry) { /* step 9 */
        json_t *letter_env = json_deep_copy(env);
        json_object_set_new(letter_env, "attempt", json_integer(attempt));
        s = dead_letter(m, letter_env, strcmp(code, "PERMANENT") == 0 ? "permanent" : "exhausted", error,
                        attempt + 1, seq);
        json_decref(letter_env);
        o = outcome(env, "failed", attempt, started);
    } else { /* step 8 */
        json_t *next = json_deep_copy(env);
        json_object_set_new(next, "attempt", json_integer(attempt + 1));
        snprintf(id, sizeof id, "%s@a%llu", str(env, "job_id"), (unsigned long long)seq);
        s = publish_later(next, json_integer_value(json_object_get(opts, "backoff_ms")), id, m);
        o = outcome(env, "retried", attempt, started);
    }
    json_object_set_new(o, "error", error);
    if (s == NATS_OK) s = settle(m, env, o, seq, delivered);
    else json_decref(o);
    json_decref(env);
    return s;
}

int run_worker(natsConnection *nc, const char *queue, const char *type, handler_fn handler) {
    w.nc = nc;
    w.queue = queue;
    w.type = type;
    new_id(w.id, sizeof w.id, "c");
    consumer_name(w.consumer, sizeof w.consumer, queue, type);
    w.ack_wait_ms = env_int("JETBUS_ACK_WAIT_MS", 10000);
    w.heartbeat_ms = env_int("JETBUS_WORKER_HEARTBEAT_MS", 5000);
    char subject[512];
    snprintf(subject, sizeof subject, "jetbus.jobs.%s.%s", queue, type);
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_JetStream(&w.js, nc, NULL);
    if (s == NATS_OK) s = wait_for_stream(JOBS_STREAM);
    /* Read the consumer first; create it only if missing, with exactly the documented configuration. */
    jsConsumerInfo *ci = NULL;
    if (s == NATS_OK) s = js_GetConsumerInfo(&ci, w.js, JOBS_STREAM, w.consumer, NULL, &jerr);
    if (s != NATS_OK && jerr == JSConsumerNotFoundErr) {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = w.consumer;
        cc.FilterSubject = subject;
        cc.AckPolicy = js_AckExplicit;
        cc.DeliverPolicy = js_DeliverAll;
        cc.AckWait = w.ack_wait_ms * 1000000;
        cc.MaxDeliver = -1;
        cc.MaxAckPending = env_int("JETBUS_MAX_ACK_PENDING", 10000);
        s = js_AddConsumer(&ci, w.js, JOBS_STREAM, &cc, NULL, &jerr);
        if (s != NATS_OK) s = js_GetConsumerInfo(&ci, w.js, JOBS_STREAM, w.consumer, NULL, &jerr); /* a race */
    }
    if (s != NATS_OK) {
        fprintf(stderr, "consumer %s: %s (%d)\n", w.consumer, natsStatus_GetText(s), (int)jerr);
        return 1;
    }
    w.ack_wait_ms = ci->Config->AckWait / 1000000; /* heartbeat by the consumer's real ack wait */
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = JOBS_STREAM;
    so.Consumer = w.consumer;
    natsSubscription *sub = NULL;
    s = js_PullSubscribe(&sub, w.js, subject, w.consumer, NULL, &so, &jerr);
    kvStore *workers = NULL, *cancels = NULL;
    kvWatcher *watcher = NULL;
    if (s == NATS_OK) s = wait_for_stream("KV_jetbus-workers");
    if (s == NATS_OK) s = js_KeyValue(&workers, w.js, "jetbus-workers");
    if (s == NATS_OK) s = js_KeyValue(&cancels, w.js, "jetbus-cancels");
    if (s == NATS_OK) s = kvStore_WatchAll(&watcher, cancels, NULL);
    if (s != NATS_OK) {
        fprintf(stderr, "worker start: %s\n", natsStatus_GetText(s));
        return 1;
    }
    pthread_t t1, t2;
    pthread_create(&t1, NULL, heartbeat, workers);
    pthread_create(&t2, NULL, watch_cancels, watcher);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("worker %s ready on %s/%s (ack wait %lld ms)\n", w.id, queue, type, (long long)w.ack_wait_ms);
    fflush(stdout);
    while (!stopping) {
        natsMsgList list = {0};
        s = natsSubscription_Fetch(&list, sub, 1, 2000, &jerr);
        for (int i = 0; s == NATS_OK && i < list.Count; i++)
            if (process(list.Msgs[i], handler) != NATS_OK)
                fprintf(stderr, "not settled, will be redelivered\n"); /* never ack on error */
        natsMsgList_Destroy(&list);
        if (s != NATS_OK && s != NATS_TIMEOUT) nats_Sleep(1000);
    }
    kvStore_Purge(workers, w.id, NULL); /* no longer serving: the record goes at once */
    return 0;
}
