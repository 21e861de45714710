/* Dispatching: a job, a chain and a batch with callbacks, each waited for through its done notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jetbus.h"

/* One request to the dispatcher; 0 when it answered ok. Every id is made here, so a retry is safe. */
static int call(natsConnection *nc, const char *subject, json_t *body, const char *traceparent) {
    char *data = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    natsMsg *req = NULL, *reply = NULL;
    natsMsg_Create(&req, subject, NULL, data, (int)strlen(data));
    free(data);
    natsMsgHeader_Set(req, "traceparent", traceparent); /* the caller's span: every job joins its trace */
    natsStatus s = natsConnection_RequestMsg(&reply, nc, req, 10000);
    natsMsg_Destroy(req);
    if (s != NATS_OK) {
        fprintf(stderr, "%s: %s\n", subject, s == NATS_NO_RESPONDERS ? "no jetbus dispatcher is running" : natsStatus_GetText(s));
        return 1;
    }
    json_t *r = json_loadb(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 0, NULL);
    int ok = json_is_true(json_object_get(r, "ok"));
    if (!ok) {
        json_t *e = json_object_get(r, "error");
        fprintf(stderr, "%s: %s: %s\n", subject, json_string_value(json_object_get(e, "code")),
                json_string_value(json_object_get(e, "message")));
    }
    json_decref(r);
    natsMsg_Destroy(reply);
    return ok ? 0 : 1;
}

/* Prints {"<key>": <the done notice>}; for a plain job, the result record may already be there. */
static int wait_done(natsConnection *nc, natsSubscription *sub, const char *key, const char *dispatch_id) {
    json_t *notice = NULL;
    if (dispatch_id) {
        jsCtx *js = NULL;
        natsMsg *rec = NULL;
        char subject[256];
        snprintf(subject, sizeof subject, "$KV.jetbus-results.%s", dispatch_id);
        if (natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
            js_GetLastMsg(&rec, js, "KV_jetbus-results", subject, NULL, NULL) == NATS_OK)
            notice = json_pack("{s:i, s:s, s:o}", "v", 1, "kind", "job", "record",
                               json_loadb(natsMsg_GetData(rec), (size_t)natsMsg_GetDataLength(rec), 0, NULL));
        natsMsg_Destroy(rec);
        jsCtx_Destroy(js);
    }
    if (!notice) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 30000) != NATS_OK) {
            fprintf(stderr, "no done notice for %s\n", key);
            return 1;
        }
        notice = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    json_t *line = json_pack("{s:o}", key, notice);
    char *s = json_dumps(line, JSON_COMPACT);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(line);
    return 0;
}

static natsSubscription *watch_done(natsConnection *nc, const char *id) { /* subscribe BEFORE dispatching */
    char subject[256];
    natsSubscription *sub = NULL;
    snprintf(subject, sizeof subject, "jetbus.done.%s", id);
    natsConnection_SubscribeSync(&sub, nc, subject);
    return sub;
}

static json_t *steps(json_t *list) { return json_pack("{s:{s:s, s:o}}", "conformance", "case", "demo", "steps", list); }

int dispatch_demo(natsConnection *nc, const char *queue, const char *foreign, const char *ts) {
    char traceparent[64], trace[33], span[17], job_id[32], chain_id[32], batch_id[32], d1[32], d2[32], t[7][64];
    random_hex(trace, 16);
    random_hex(span, 8);
    snprintf(traceparent, sizeof traceparent, "00-%s-%s-01", trace, span);
    printf("{\"traceparent\":\"%s\"}\n", traceparent);
    const char *names[] = {"hello", "first", "last", "then", "catch", "finally", "progress"};
    for (int i = 0; i < 7; i++) snprintf(t[i], sizeof t[i], "%s:%s", ts, names[i]);
    new_id(job_id, sizeof job_id, "dsp");
    new_id(chain_id, sizeof chain_id, "chn");
    new_id(batch_id, sizeof batch_id, "bat");
    new_id(d1, sizeof d1, "dsp");
    new_id(d2, sizeof d2, "dsp");

    natsSubscription *sub = watch_done(nc, job_id);
    if (call(nc, "jetbus.v1.dispatch",
             json_pack("{s:i, s:{s:s, s:s, s:s, s:{s:s}}}", "v", 1, "job", "dispatch_id", job_id, "type", t[0], "queue",
                       queue, "payload", "name", "c"),
             traceparent) ||
        wait_done(nc, sub, "job", job_id))
        return 1;

    sub = watch_done(nc, chain_id);
    json_t *ok = json_pack("[{s:s, s:{s:s}}]", "do", "succeed", "result", "lang", "c");
    if (call(nc, "jetbus.v1.chain",
             json_pack("{s:i, s:s, s:s, s:s, s:[{s:s, s:{s:i}}, {s:s, s:o}, {s:s, s:{s:i}}], s:{s:s}, s:{s:s}}", "v", 1,
                       "chain_id", chain_id, "dispatch_id", d1, "queue", queue, "jobs", "type", t[1], "payload", "step",
                       0, "type", foreign, "payload", steps(ok), "type", t[2], "payload", "step", 2, "catch", "type",
                       t[4], "finally", "type", t[5]),
             traceparent) ||
        wait_done(nc, sub, "chain", NULL))
        return 1;

    sub = watch_done(nc, batch_id);
    json_t *flaky = json_pack("[{s:s, s:s}, {s:s, s:{s:s, s:b}}]", "do", "fail", "message", "first try fails", "do",
                              "succeed", "result", "lang", "c", "retried", 1);
    if (call(nc, "jetbus.v1.batch.create",
             json_pack("{s:i, s:s, s:s, s:s, s:s, s:b, s:[{s:s, s:{s:s}}, {s:s, s:o, s:{s:i}}], s:{s:s}, s:{s:s}, "
                       "s:{s:s}, s:{s:s}}",
                       "v", 1, "batch_id", batch_id, "dispatch_id", d2, "queue", queue, "name", "c-batch", "seal", 1,
                       "jobs", "type", t[0], "payload", "name", "member", "type", foreign, "payload", steps(flaky),
                       "options", "retry", 1, "then", "type", t[3], "catch", "type", t[4], "finally", "type", t[5],
                       "progress", "type", t[6]),
             traceparent) ||
        wait_done(nc, sub, "batch", NULL))
        return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "", *queue = "default", *type = NULL, *foreign = NULL, *ts = "ts";
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--queue") == 0) queue = argv[i + 1];
        else if (strcmp(argv[i], "--type") == 0) type = argv[i + 1];
        else if (strcmp(argv[i], "--foreign") == 0) foreign = argv[i + 1];
        else if (strcmp(argv[i], "--ts") == 0) ts = argv[i + 1];
    }
    const char *url = getenv("NATS_URL");
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url && *url ? url : NATS_DEFAULT_URL);
    if (s != NATS_OK) {
        fprintf(stderr, "connect: %s\n", natsStatus_GetText(s));
        return 1;
    }
    int rc = 2;
    if (strcmp(cmd, "worker") == 0 && type) rc = run_worker(nc, queue, type, script_step);
    else if (strcmp(cmd, "dispatch") == 0 && foreign) rc = dispatch_demo(nc, queue, foreign, ts);
    else fprintf(stderr, "usage: jetbus-example worker --type T [--queue Q] | dispatch --foreign T [--queue Q] [--ts P]\n");
    natsConnection_Destroy(nc);
    return rc;
}
