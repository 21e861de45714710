#include <string.h>

#include "jetbus.h"

/* The conformance script: the payload says what to do on each attempt (the last step repeats). */
json_t *script_step(job_t *job, const char **code, const char **message) {
    json_t *steps = json_object_get(json_object_get(job->payload, "conformance"), "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0)
        return json_pack("{s:O?, s:s}", "echo", job->payload, "lang", "c");
    size_t i = (size_t)job->attempt < json_array_size(steps) ? (size_t)job->attempt : json_array_size(steps) - 1;
    json_t *step = json_array_get(steps, i);
    const char *do_ = json_string_value(json_object_get(step, "do"));
    const char *msg = json_string_value(json_object_get(step, "message"));
    json_int_t work_ms = json_integer_value(json_object_get(step, "work_ms"));
    if (work_ms > 0) {
        int64_t end = now_ms() + work_ms;
        while (now_ms() < end) { /* work in slices: +WPI when due, and stop at the timeout */
            if (!job_working(job)) return NULL;
            nats_Sleep(20);
        }
    }
    if (do_ && strcmp(do_, "succeed") == 0) {
        json_t *r = json_object_get(step, "result");
        return r ? json_incref(r) : NULL;
    }
    if (do_ && strcmp(do_, "fail") == 0) {
        const char *c = json_string_value(json_object_get(step, "code"));
        *code = c ? c : "HANDLER_ERROR";
        *message = msg ? msg : "failed as the script asked";
    } else if (do_ && strcmp(do_, "permanent") == 0) {
        *code = "PERMANENT";
        *message = msg ? msg : "failed permanently as the script asked";
    } else if (do_ && strcmp(do_, "vanish") == 0) {
        *code = JOB_VANISH;
    } else {
        *code = "PERMANENT";
        *message = "unknown conformance step";
    }
    return NULL;
}
