/*
 * statefile.c - atomic JSON state file. See statefile.h.
 */
#include "statefile.h"
#include "erpsync/jsonw.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX_BYTES (16 * 1024 * 1024) /* 10,000 engines fit */

static unsigned applied_hash(const char *id) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (ERPS_APPLIED_HASH - 1);
}

int erps_state_applied_has(const erps_agent_state_t *st, const char *id) {
    for (int k = st->applied_bucket[applied_hash(id)]; k;
         k = st->applied_chain[k - 1])
        if (strcmp(st->applied[k - 1], id) == 0)
            return 1;
    return 0;
}

/* Takes slot out of its bucket's chain. */
static void applied_unlink(erps_agent_state_t *st, int slot) {
    int *link = &st->applied_bucket[applied_hash(st->applied[slot])];
    while (*link && *link != slot + 1)
        link = &st->applied_chain[*link - 1];
    if (*link)
        *link = st->applied_chain[slot];
}

void erps_state_applied_add(erps_agent_state_t *st, const char *id) {
    int slot = st->applied_next;
    if (st->applied_cnt == ERPS_APPLIED_MAX)
        applied_unlink(st, slot); /* the oldest id leaves the window */
    erps_strlcpy(st->applied[slot], id, ERPS_UUID_LEN + 1);
    int *bucket = &st->applied_bucket[applied_hash(st->applied[slot])];
    st->applied_chain[slot] = *bucket;
    *bucket = slot + 1;
    st->applied_next = (slot + 1) % ERPS_APPLIED_MAX;
    if (st->applied_cnt < ERPS_APPLIED_MAX)
        st->applied_cnt++;
}

const erps_pending_t *erps_state_pending_find(const erps_agent_state_t *st,
                                              const char *id) {
    for (int i = 0; i < st->pending_cnt; i++)
        if (strcmp(st->pending[i].id, id) == 0)
            return &st->pending[i];
    return NULL;
}

int erps_state_pending_add(erps_agent_state_t *st, const erps_pending_t *p) {
    if (erps_state_pending_find(st, p->id))
        return 0;
    if (st->pending_cnt >= ERPS_PENDING_MAX) {
        /* Make room by forgetting the oldest recovered entry, if any: its
         * command was most likely committed before the crash after all. */
        int i = 0;
        while (i < st->pending_cnt && !st->pending[i].recovered)
            i++;
        if (i == st->pending_cnt)
            return -1;
        memmove(&st->pending[i], &st->pending[i + 1],
                (size_t)(st->pending_cnt - i - 1) * sizeof(st->pending[0]));
        st->pending_cnt--;
    }
    st->pending[st->pending_cnt++] = *p;
    return 0;
}

void erps_state_pending_confirm(erps_agent_state_t *st) {
    int keep = 0;
    for (int i = 0; i < st->pending_cnt; i++) {
        if (st->pending[i].recovered)
            st->pending[keep++] = st->pending[i];
        else
            erps_state_applied_add(st, st->pending[i].id);
    }
    st->pending_cnt = keep;
}

void erps_state_pending_republish(erps_agent_state_t *st, const char *id) {
    for (int i = 0; i < st->pending_cnt; i++)
        if (strcmp(st->pending[i].id, id) == 0)
            st->pending[i].recovered = 0;
}

static int read_file(const char *path, char **out, size_t *len, char *errstr,
                     size_t n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT)
            return 1;
        snprintf(errstr, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(STATE_MAX_BYTES + 1);
    size_t got = buf ? fread(buf, 1, STATE_MAX_BYTES + 1, fp) : 0;
    int err = ferror(fp);
    fclose(fp);
    if (!buf || err || got > STATE_MAX_BYTES) {
        free(buf);
        snprintf(errstr, n, "%s: unreadable or larger than %d bytes", path,
                 STATE_MAX_BYTES);
        return -1;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* A number of ours, or 0: a value outside +-2^53 was not written by us, and
 * casting it to int64_t would be undefined. */
static int64_t num(const cJSON *o, const char *name) {
    const cJSON *it = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= -9007199254740992.0 &&
                                 it->valuedouble <= 9007199254740992.0))
        return 0;
    return (int64_t)it->valuedouble;
}

static void str(const cJSON *o, const char *name, char *out, size_t size) {
    const cJSON *it = cJSON_GetObjectItem(o, name);
    erps_strlcpy(out, cJSON_IsString(it) ? it->valuestring : "", size);
}

/* An engine's fields, at the top level (one engine) or in "Engines". */
static int load_engine(const cJSON *o, erps_engine_rec_t *rec) {
    const cJSON *iv = cJSON_GetObjectItem(o, "IntervalSeconds");
    if (!cJSON_IsNumber(iv) || !(iv->valuedouble >= 1) ||
        iv->valuedouble > ERPS_INTERVAL_MAX_S)
        return -1;
    rec->engine.desired_run =
        cJSON_IsTrue(cJSON_GetObjectItem(o, "DesiredRun"));
    rec->engine.interval_s = (int64_t)iv->valuedouble;
    rec->engine.generation = num(o, "Generation");
    rec->engine.failures = num(o, "Failures");
    rec->sequence = num(o, "Sequence");
    const cJSON *li = cJSON_GetObjectItem(o, "LastIteration");
    if (cJSON_IsObject(li)) {
        erps_iteration_t *it = &rec->engine.last;
        it->number = num(li, "Number");
        it->start_ms = num(li, "StartMs");
        it->end_ms = num(li, "EndMs");
        it->exit_code = (int)num(li, "ExitCode");
        it->signal = (int)num(li, "Signal");
        str(li, "Outcome", it->outcome, sizeof(it->outcome));
        str(li, "Detail", it->detail, sizeof(it->detail));
    }
    rec->found = 1;
    return 0;
}

static int64_t offset_or_none(const cJSON *o, const char *name) {
    return cJSON_IsNumber(cJSON_GetObjectItem(o, name)) ? num(o, name) : -1;
}

static void load_part(const cJSON *o, erps_part_rec_t *pr) {
    pr->committed = offset_or_none(o, "CommittedOffset");
    pr->pending = offset_or_none(o, "PendingOffset");
}

static erps_engine_rec_t *engine_rec(erps_agent_state_t *st, const char *id) {
    for (int i = 0; i < st->engine_cnt; i++)
        if (strcmp(st->engines[i].id, id) == 0)
            return &st->engines[i];
    return NULL;
}

/* @returns 0, or -1 when the file is not ours. */
static int load_engines_and_parts(const char *path, const cJSON *root,
                                  erps_agent_state_t *st) {
    const cJSON *engines = cJSON_GetObjectItem(root, "Engines"), *e;
    if (!engines) {
        /* The single-engine layout: everything at the top level, for the
         * engine the file is named after (<id>.state.json). */
        const char *base = strrchr(path, '/');
        char stem[ERPS_ENGINE_ID_MAX + 1];
        erps_engine_rec_t scratch, *rec = &st->engines[0];
        erps_strlcpy(stem, base ? base + 1 : path, sizeof(stem));
        char *dot = strstr(stem, ".state.json");
        if (dot)
            *dot = '\0';
        if (st->engine_cnt > 1)
            rec = engine_rec(st, stem) ? engine_rec(st, stem) : &scratch;
        if (load_engine(root, rec))
            return -1;
        if (st->part_cnt == 1)
            load_part(root, &st->parts[0]);
        return 0;
    }
    if (!cJSON_IsArray(engines))
        return -1;
    cJSON_ArrayForEach(e, engines) {
        const cJSON *id = cJSON_GetObjectItem(e, "EngineId");
        erps_engine_rec_t *rec =
            cJSON_IsString(id) ? engine_rec(st, id->valuestring) : NULL;
        erps_engine_rec_t scratch;
        /* An engine no longer served is checked, then left behind. */
        if (load_engine(e, rec ? rec : &scratch))
            return -1;
    }
    const cJSON *parts = cJSON_GetObjectItem(root, "Partitions"), *p;
    cJSON_ArrayForEach(p, parts) {
        int32_t part = (int32_t)num(p, "Partition");
        for (int i = 0; i < st->part_cnt; i++)
            if (st->parts[i].partition == part)
                load_part(p, &st->parts[i]);
    }
    return 0;
}

static void load_ids(const cJSON *root, erps_agent_state_t *st) {
    st->applied_cnt = st->applied_next = 0;
    memset(st->applied_bucket, 0, sizeof(st->applied_bucket));
    const cJSON *ids = cJSON_GetObjectItem(root, "AppliedCommands");
    const cJSON *id;
    cJSON_ArrayForEach(id, ids) {
        if (cJSON_IsString(id) && erps_uuid_valid(id->valuestring))
            erps_state_applied_add(st, id->valuestring);
    }
    st->pending_cnt = 0;
    const cJSON *pend = cJSON_GetObjectItem(root, "PendingCommands"), *pe;
    cJSON_ArrayForEach(pe, pend) {
        erps_pending_t p;
        char state[16];
        memset(&p, 0, sizeof(p));
        str(pe, "Id", p.id, sizeof(p.id));
        str(pe, "BeforeState", state, sizeof(state));
        p.outcome = (int)num(pe, "Outcome");
        p.before_interval_s = num(pe, "BeforeIntervalSeconds");
        p.recovered = 1;
        p.in_flight = cJSON_IsTrue(cJSON_GetObjectItem(pe, "InFlight"));
        if (erps_uuid_valid(p.id) &&
            erps_state_parse(state, &p.before_state) == 0 &&
            p.outcome >= ERPS_OUTCOME_APPLIED &&
            p.outcome <= ERPS_OUTCOME_DEADLETTERED)
            erps_state_pending_add(st, &p);
    }
}

int erps_state_load(const char *path, erps_agent_state_t *st, int *found,
                    char *errstr, size_t errstr_size) {
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, errstr, errstr_size);
    *found = 0;
    if (rc == 1)
        return 0;
    if (rc < 0)
        return -1;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!cJSON_IsObject(root) || st->engine_cnt < 1 ||
        load_engines_and_parts(path, root, st)) {
        cJSON_Delete(root);
        snprintf(errstr, errstr_size,
                 "%s: not an erpsync state file (remove it to start afresh)",
                 path);
        return -1;
    }
    load_ids(root, st);
    cJSON_Delete(root);
    *found = 1;
    return 0;
}

static int fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void write_engine(erps_jw_t *w, const erps_engine_rec_t *rec) {
    const erps_iteration_t *it = &rec->engine.last;
    erps_jw_bool(w, "DesiredRun", rec->engine.desired_run);
    erps_jw_int(w, "IntervalSeconds", rec->engine.interval_s);
    erps_jw_int(w, "Generation", rec->engine.generation);
    erps_jw_int(w, "Failures", rec->engine.failures);
    erps_jw_int(w, "Sequence", rec->sequence);
    erps_jw_object(w, "LastIteration");
    erps_jw_int(w, "Number", it->number);
    erps_jw_int(w, "StartMs", it->start_ms);
    erps_jw_int(w, "EndMs", it->end_ms);
    erps_jw_int(w, "ExitCode", it->exit_code);
    erps_jw_int(w, "Signal", it->signal);
    erps_jw_string(w, "Outcome", it->outcome);
    erps_jw_string(w, "Detail", it->detail);
    erps_jw_object_end(w);
}

static void write_part(erps_jw_t *w, const erps_part_rec_t *pr) {
    erps_jw_int(w, "CommittedOffset", pr->committed);
    erps_jw_int(w, "PendingOffset", pr->pending);
}

/* One engine on one partition keeps the layout single-engine agents have
 * always written, so upgrading and downgrading need no conversion. */
static void write_engines_and_parts(erps_jw_t *w,
                                    const erps_agent_state_t *st) {
    if (st->engine_cnt == 1 && st->part_cnt <= 1) {
        if (st->part_cnt == 1)
            write_part(w, &st->parts[0]);
        write_engine(w, &st->engines[0]);
        return;
    }
    erps_jw_array(w, "Engines");
    for (int i = 0; i < st->engine_cnt; i++) {
        erps_jw_object(w, NULL);
        erps_jw_string(w, "EngineId", st->engines[i].id);
        write_engine(w, &st->engines[i]);
        erps_jw_object_end(w);
    }
    erps_jw_array_end(w);
    erps_jw_array(w, "Partitions");
    for (int i = 0; i < st->part_cnt; i++) {
        erps_jw_object(w, NULL);
        erps_jw_int(w, "Partition", st->parts[i].partition);
        write_part(w, &st->parts[i]);
        erps_jw_object_end(w);
    }
    erps_jw_array_end(w);
}

/* The applied ring, oldest first (a reload rebuilds the same order), and
 * the pending commands. */
static void write_commands(erps_jw_t *w, const erps_agent_state_t *st) {
    erps_jw_array(w, "AppliedCommands");
    for (int i = 0; i < st->applied_cnt; i++) {
        int k = (st->applied_next - st->applied_cnt + i + ERPS_APPLIED_MAX) %
                ERPS_APPLIED_MAX;
        erps_jw_string(w, NULL, st->applied[k]);
    }
    erps_jw_array_end(w);
    erps_jw_array(w, "PendingCommands");
    for (int i = 0; i < st->pending_cnt; i++) {
        const erps_pending_t *p = &st->pending[i];
        erps_jw_object(w, NULL);
        erps_jw_string(w, "Id", p->id);
        erps_jw_int(w, "Outcome", p->outcome);
        erps_jw_string(w, "BeforeState", erps_state_name(p->before_state));
        erps_jw_int(w, "BeforeIntervalSeconds", p->before_interval_s);
        /* The batch this file is written for, not a crash's leftovers. */
        erps_jw_bool(w, "InFlight", !p->recovered);
        erps_jw_object_end(w);
    }
    erps_jw_array_end(w);
}

/* The whole file as text (the caller frees it), or NULL out of memory.
 * Written as text, not through a cJSON tree: a fleet's file is rewritten
 * once per batch, and 1,000 engines are 17,000 nodes. One engine's is laid
 * out for people to read, a fleet's is compact. */
static char *state_json(const erps_agent_state_t *st) {
    erps_jw_t w;
    erps_jw_init(&w, st->engine_cnt == 1);
    erps_jw_object(&w, NULL);
    erps_jw_int(&w, "Version", 1);
    write_engines_and_parts(&w, st);
    write_commands(&w, st);
    erps_jw_object_end(&w);
    return erps_jw_take(&w, NULL);
}

/* text to path through path.tmp, fsync'd, renamed, the directory fsync'd:
 * a crash leaves the old file or the new one, never half of one. */
static int write_atomically(const char *path, const char *text, char *errstr,
                            size_t errstr_size) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(errstr, errstr_size, "state path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || erps_write_all(fd, text, strlen(text)) ||
        erps_write_all(fd, "\n", 1) || fsync(fd)) {
        snprintf(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return -1;
    }
    close(fd);
    if (rename(tmp, path) || fsync_dir_of(path)) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int erps_state_save(const char *path, const erps_agent_state_t *st,
                    char *errstr, size_t errstr_size) {
    char *json = state_json(st);
    if (!json) {
        snprintf(errstr, errstr_size, "out of memory writing state");
        return -1;
    }
    int rc = write_atomically(path, json, errstr, errstr_size);
    free(json);
    return rc;
}
