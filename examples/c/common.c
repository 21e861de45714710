#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jetbus.h"

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void random_hex(char *out, int bytes) {
    FILE *f = fopen("/dev/urandom", "rb");
    for (int i = 0; i < bytes; i++) {
        unsigned char b = (unsigned char)(f ? fgetc(f) : rand());
        sprintf(out + 2 * i, "%02x", b);
    }
    if (f) fclose(f);
}

void new_id(char *out, size_t size, const char *prefix) {
    char hex[17];
    random_hex(hex, 8);
    snprintf(out, size, "%s_%s", prefix, hex);
}

/* The one durable consumer every worker of (queue, type) shares (docs/protocol.md, "The consumer"). */
void consumer_name(char *out, size_t size, const char *queue, const char *type) {
    char readable[49], key[512], hex[65];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    size_t i = 0;
    for (; type[i] && i < 48; i++) {
        char c = type[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        readable[i] = ok ? c : '-';
    }
    readable[i] = 0;
    size_t ql = strlen(queue), tl = strlen(type);
    memcpy(key, queue, ql);
    key[ql] = 0; /* one NUL byte between queue and type */
    memcpy(key + ql + 1, type, tl);
    EVP_Digest(key, ql + 1 + tl, md, &len, EVP_sha256(), NULL);
    for (unsigned int k = 0; k < 5; k++) sprintf(hex + 2 * k, "%02x", md[k]);
    snprintf(out, size, "jobs-%s-%s-%s", queue, readable, hex);
}

int64_t env_int(const char *key, int64_t fallback) {
    const char *v = getenv(key);
    return v && *v ? strtoll(v, NULL, 10) : fallback;
}

json_t *error_body(const char *code, const char *message, int retryable) {
    return json_pack("{s:s, s:s, s:b}", "code", code, "message", message, "retryable", retryable);
}

natsStatus publish_json(jsCtx *js, const char *subject, json_t *body, const char *msg_id, natsMsg *trace_from,
                        const char **headers) {
    char *data = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)strlen(data));
    free(data);
    if (s == NATS_OK && trace_from) {
        const char *names[] = {"traceparent", "tracestate"};
        for (int i = 0; i < 2; i++) {
            const char *v = NULL;
            if (natsMsgHeader_Get(trace_from, names[i], &v) == NATS_OK && v) natsMsgHeader_Set(m, names[i], v);
        }
    }
    for (int i = 0; s == NATS_OK && headers && headers[i]; i += 2) natsMsgHeader_Set(m, headers[i], headers[i + 1]);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK) s = js_PublishMsg(&pa, js, m, &po, &jerr); /* the PubAck: it is stored */
    if (s != NATS_OK) fprintf(stderr, "publish to %s failed: %s (%d)\n", subject, natsStatus_GetText(s), (int)jerr);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    return s;
}
