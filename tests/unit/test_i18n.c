/* test_i18n.c - StatusMessage per language, culture and time zone; the
 * SO-Culture and SO-TimeZone headers. Expected dates and numbers are what
 * ICU 72 (Debian 12) writes, pinned byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

#define NBSP  "\u00A0"
#define NNBSP "\u202F"

/* 2026-11-28T13:45:00Z: winter, Oslo is +01:00. */
#define NOV28_MS INT64_C(1795873500000)
/* 2026-07-01T10:00:00Z: summer, Oslo is +02:00. */
#define JUL01_MS INT64_C(1782900000000)

static const char *const ids[] = {
    "SR_ERPSYNC_STOPPED",           "SR_ERPSYNC_STARTING", "SR_ERPSYNC_RUNNING",
    "SR_ERPSYNC_RUNNING_ITERATING", "SR_ERPSYNC_STOPPING", "SR_ERPSYNC_FAILED"};

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, n, min, cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += n + 1;
    }
    return 1;
}

static erps_status_t running(int64_t next_ms) {
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    st.state = ERPS_STATE_RUNNING;
    st.is_running = true;
    st.interval_s = 900;
    st.next_iteration_ms = next_ms;
    st.last.number = 12344;
    erps_strlcpy(st.last.detail, "sync job exited with code 2",
                 sizeof(st.last.detail));
    erps_status_render_message(&st);
    return st;
}

static erps_i18n_req_t req(const char *lang, const char *culture,
                           const char *zone, bool offset) {
    erps_i18n_req_t r;
    memset(&r, 0, sizeof(r));
    erps_strlcpy(r.language, lang, sizeof(r.language));
    erps_strlcpy(r.culture, culture, sizeof(r.culture));
    erps_strlcpy(r.zone, zone, sizeof(r.zone));
    r.include_offset = offset;
    return r;
}

/* Renders and checks the result is 0 and valid UTF-8; @returns out. */
static const char *render(const erps_status_t *st, const erps_i18n_req_t *r,
                          char *out, size_t size) {
    assert_int_equal(erps_i18n_render(st, r, out, size), 0);
    assert_true(utf8_valid(out));
    return out;
}

static void languages_table(void **state) {
    static const char *const want[] = {"en", "nb", "sv", "da",
                                       "de", "nl", "fr"};
    (void)state;
    assert_int_equal(erps_i18n_language_count, 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(erps_i18n_languages[i], want[i]);
}

static void every_language_every_id(void **state) {
    erps_status_t st = running(NOV28_MS);
    static char seen[7][6][ERPS_I18N_MESSAGE_MAX];
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    for (size_t l = 0; l < erps_i18n_language_count; l++) {
        for (size_t i = 0; i < 6; i++) {
            erps_i18n_req_t r =
                req(erps_i18n_languages[l], "", "Europe/Oslo", l % 2);
            erps_strlcpy(st.message_id, ids[i], sizeof(st.message_id));
            render(&st, &r, out, sizeof(out));
            if (strchr(out, '{') || strchr(out, '}'))
                fail_msg("%s %s: placeholder left: %s", r.language, ids[i],
                         out);
            assert_true(strlen(out) > 20);
            /* Seven languages, seven texts: none is a copy of another. */
            for (size_t k = 0; k < l; k++) {
                if (strcmp(out, seen[k][i]) == 0)
                    fail_msg("%s %s reads as %s: %s", r.language, ids[i],
                             erps_i18n_languages[k], out);
            }
            erps_strlcpy(seen[l][i], out, sizeof(seen[l][i]));
            /* The facts show in every language. */
            if (i == 2 || i == 3)
                assert_non_null(strstr(out, "00:15:00"));
            if (i == 2)
                assert_true(strstr(out, "2026") &&
                            !strstr(out, "+01:00") == !(l % 2));
            if (i == 3)
                assert_true(strstr(out, "12") && strstr(out, "345"));
            if (i == 5)
                assert_non_null(strstr(out, "sync job exited with code 2"));
        }
    }
}

/* The catalog's English reads as the agent's text (proto/src/status.c),
 * where the two format alike. */
static void english_is_the_agents(void **state) {
    static const erps_state_t states[] = {
        ERPS_STATE_STOPPED, ERPS_STATE_STARTING, ERPS_STATE_STOPPING,
        ERPS_STATE_FAILED, ERPS_STATE_RUNNING};
    char out[ERPS_I18N_MESSAGE_MAX];
    erps_i18n_req_t r = req("en", "", "", false);
    (void)state;
    for (size_t i = 0; i < 5; i++) {
        erps_status_t st = running(0); /* Running with no next: iterating */
        st.state = states[i];
        st.last.number = 41; /* no grouping at 42 */
        erps_status_render_message(&st);
        render(&st, &r, out, sizeof(out));
        assert_string_equal(out, st.message);
    }
    erps_status_t st = running(0);
    st.last.number = 41;
    erps_status_render_message(&st);
    assert_string_equal(st.message_id, "SR_ERPSYNC_RUNNING_ITERATING");
    assert_string_equal(st.message, "The ERP sync engine is running every "
                                    "00:15:00; iteration 42 is in progress.");
    /* Running with a next iteration: all but the date is the same. */
    st = running(NOV28_MS);
    assert_string_equal(st.message_id, "SR_ERPSYNC_RUNNING");
    render(&st, &r, out, sizeof(out));
    const char *at = strstr(st.message, " at ");
    assert_non_null(at);
    assert_memory_equal(out, st.message, (size_t)(at - st.message) + 4);
    assert_int_equal(out[strlen(out) - 1], '.');
}

static void pinned_running(void **state) {
    static const struct {
        const char *lang, *zone;
        bool offset;
        const char *want;
    } cases[] = {
        {"en", "", false,
         "The ERP sync engine is running every 00:15:00; next iteration at "
         "Nov 28, 2026, 1:45:00" NNBSP "PM."},
        {"en", "", true,
         "The ERP sync engine is running every 00:15:00; next iteration at "
         "Nov 28, 2026, 1:45:00" NNBSP "PM +00:00."},
        {"en", "Europe/Oslo", false,
         "The ERP sync engine is running every 00:15:00; next iteration at "
         "Nov 28, 2026, 2:45:00" NNBSP "PM."},
        {"en", "Europe/Oslo", true,
         "The ERP sync engine is running every 00:15:00; next iteration at "
         "Nov 28, 2026, 2:45:00" NNBSP "PM +01:00."},
        {"nb", "", false,
         "ERP-synkroniseringsmotoren kjører med intervallet 00:15:00; neste "
         "kjøring starter 28. nov. 2026, 13:45:00."},
        {"nb", "", true,
         "ERP-synkroniseringsmotoren kjører med intervallet 00:15:00; neste "
         "kjøring starter 28. nov. 2026, 13:45:00 +00:00."},
        {"nb", "Europe/Oslo", false,
         "ERP-synkroniseringsmotoren kjører med intervallet 00:15:00; neste "
         "kjøring starter 28. nov. 2026, 14:45:00."},
        {"nb", "Europe/Oslo", true,
         "ERP-synkroniseringsmotoren kjører med intervallet 00:15:00; neste "
         "kjøring starter 28. nov. 2026, 14:45:00 +01:00."},
        {"de", "", false,
         "Die ERP-Synchronisierungs-Engine läuft im Intervall von 00:15:00; "
         "nächster Durchlauf am 28.11.2026, 13:45:00."},
        {"de", "", true,
         "Die ERP-Synchronisierungs-Engine läuft im Intervall von 00:15:00; "
         "nächster Durchlauf am 28.11.2026, 13:45:00 +00:00."},
        {"de", "Europe/Oslo", false,
         "Die ERP-Synchronisierungs-Engine läuft im Intervall von 00:15:00; "
         "nächster Durchlauf am 28.11.2026, 14:45:00."},
        {"de", "Europe/Oslo", true,
         "Die ERP-Synchronisierungs-Engine läuft im Intervall von 00:15:00; "
         "nächster Durchlauf am 28.11.2026, 14:45:00 +01:00."},
    };
    erps_status_t st = running(NOV28_MS);
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        erps_i18n_req_t r =
            req(cases[i].lang, "", cases[i].zone, cases[i].offset);
        assert_string_equal(render(&st, &r, out, sizeof(out)), cases[i].want);
    }
}

/* What the headers give, end to end, including summer time and a zone
 * named by an alias. */
static void headers_to_text(void **state) {
    char culture[64], zone[64], err[256], out[ERPS_I18N_MESSAGE_MAX];
    bool offset;
    erps_status_t st = running(JUL01_MS);
    (void)state;
    erps_i18n_req_t r = req("nb", "", "", false);
    assert_int_equal(erps_i18n_culture_parse("nb-NO", r.culture,
                                             sizeof(r.culture), err,
                                             sizeof(err)),
                     0);
    assert_int_equal(erps_i18n_zone_parse("Europe/Oslo, includeTZOffset",
                                          r.zone, sizeof(r.zone),
                                          &r.include_offset, err, sizeof(err)),
                     0);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "ERP-synkroniseringsmotoren kjører med intervallet "
                        "00:15:00; neste kjøring starter 1. jul. 2026, "
                        "12:00:00 +02:00.");

    /* English words, German dates, New York time. */
    assert_int_equal(erps_i18n_culture_parse("de-DE", culture, sizeof(culture),
                                             err, sizeof(err)),
                     0);
    assert_int_equal(erps_i18n_zone_parse("US/Eastern,includetzoffset", zone,
                                          sizeof(zone), &offset, err,
                                          sizeof(err)),
                     0);
    r = req("en", culture, zone, offset);
    st = running(NOV28_MS);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is running every 00:15:00; next "
                        "iteration at 28.11.2026, 08:45:00 -05:00.");
    /* A culture brings its own calendar: Thailand counts Buddhist years. */
    assert_int_equal(erps_i18n_culture_parse("th-TH", culture, sizeof(culture),
                                             err, sizeof(err)),
                     0);
    r = req("en", culture, "Asia/Bangkok", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is running every 00:15:00; next "
                        "iteration at 28 พ.ย. 2569 20:45:00.");
}

static void number_grouping(void **state) {
    static const struct {
        const char *lang, *culture, *want;
    } cases[] = {
        {"en", "", "iteration 12,345 is"},
        {"nb", "", "kjøring 12" NBSP "345 pågår"},
        {"sv", "", "körning 12" NBSP "345 pågår"},
        {"da", "", "kørsel 12.345 er"},
        {"de", "", "Durchlauf 12.345 wird"},
        {"nl", "", "uitvoering 12.345 is"},
        {"fr", "", "l’exécution 12" NNBSP "345 est"},
        {"en", "de_DE", "iteration 12.345 is"},
        {"en", "fr_CA", "iteration 12" NBSP "345 is"},
        {"de", "en_US", "Durchlauf 12,345 wird"},
        {"nb", "de_CH", "kjøring 12’345 pågår"},
    };
    erps_status_t st = running(0);
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    assert_string_equal(st.message_id, "SR_ERPSYNC_RUNNING_ITERATING");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        erps_i18n_req_t r = req(cases[i].lang, cases[i].culture, "", false);
        render(&st, &r, out, sizeof(out));
        if (!strstr(out, cases[i].want))
            fail_msg("%s/%s: \"%s\" lacks \"%s\"", cases[i].lang,
                     cases[i].culture, out, cases[i].want);
    }
    /* Small numbers have no separator; the last one does not overflow. */
    erps_i18n_req_t r = req("en", "", "", false);
    st.last.number = 0;
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is running every 00:15:00; "
                        "iteration 1 is in progress.");
    st.last.number = INT64_MAX;
    assert_non_null(strstr(render(&st, &r, out, sizeof(out)),
                           "iteration 9,223,372,036,854,775,807 is"));
}

static void french_typography(void **state) {
    erps_status_t st = running(NOV28_MS);
    char out[ERPS_I18N_MESSAGE_MAX];
    erps_i18n_req_t r = req("fr", "", "Europe/Paris", true);
    (void)state;
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "Le moteur de synchronisation ERP fonctionne avec un "
                        "intervalle de 00:15:00" NNBSP "; prochaine exécution "
                        "le 28 nov. 2026, 14:45:00 +01:00.");
    st.state = ERPS_STATE_FAILED;
    erps_status_render_message(&st);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "Le moteur de synchronisation ERP a rencontré une "
                        "erreur" NBSP ": sync job exited with code 2");
}

static void language_choice(void **state) {
    erps_status_t st = running(NOV28_MS);
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    st.state = ERPS_STATE_STOPPED;
    erps_status_render_message(&st);
    erps_i18n_req_t r = req("NB", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "ERP-synkroniseringsmotoren er stoppet.");
    r = req("sv", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "ERP-synkroniseringsmotorn är stoppad.");
    r = req("nl", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "De ERP-synchronisatie-engine is gestopt.");
    /* Not in the catalog: English, as the WebAPI falls back. */
    static const char *const others[] = {"", "ja", "en-US", "nbx"};
    for (size_t i = 0; i < 4; i++) {
        r = req(others[i], "", "", false);
        assert_string_equal(render(&st, &r, out, sizeof(out)),
                            "The ERP sync engine is stopped.");
    }
    /* A language array without its NUL is read no further than its size. */
    memset(r.language, 'n', sizeof(r.language));
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is stopped.");
}

static void raw_ids(void **state) {
    erps_status_t st = running(NOV28_MS);
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    erps_i18n_req_t r = req("x", "de_DE", "Europe/Oslo", true);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "[SR_ERPSYNC_RUNNING]");
    r = req("*", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "[SR_ERPSYNC_RUNNING]");
    r = req("X", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "[SR_ERPSYNC_RUNNING]");
    /* Raw mode shows ids the catalog lacks, too, made safe. */
    erps_strlcpy(st.message_id, "SR_NEW\x01\xff", sizeof(st.message_id));
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "[SR_NEW\uFFFD\uFFFD]");
}

static void unknown_id_falls_back(void **state) {
    erps_status_t st = running(NOV28_MS);
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    erps_strlcpy(st.message_id, "SR_ERPSYNC_PAUSED", sizeof(st.message_id));
    erps_strlcpy(st.message, "The ERP sync engine is paused.",
                 sizeof(st.message));
    erps_i18n_req_t r = req("nb", "", "Europe/Oslo", true);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is paused.");
    /* A prefix of a known id is not that id. */
    erps_strlcpy(st.message_id, "SR_ERPSYNC_RUNNIN", sizeof(st.message_id));
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is paused.");
    st.message_id[0] = '\0';
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine is paused.");
    /* Off the wire: ill-formed UTF-8 and control characters are replaced,
     * well-formed text and tab/newline kept. */
    erps_strlcpy(st.message,
                 "bad \xc3( \xed\xa0\x80 \xc0\xaf ok \xc3\xa6\t\n bell\a "
                 "\xef\xbf\xbe",
                 sizeof(st.message));
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "bad \uFFFD( \uFFFD\uFFFD\uFFFD \uFFFD\uFFFD ok æ\t\n "
                        "bell\uFFFD \uFFFD");
    /* The longest message, all of it ill-formed, still fits the maximum. */
    memset(st.message, 0xff, sizeof(st.message) - 1);
    st.message[sizeof(st.message) - 1] = '\0';
    render(&st, &r, out, sizeof(out));
    assert_int_equal(strlen(out), 3 * ERPS_MESSAGE_MAX);
}

static void detail_is_text(void **state) {
    erps_status_t st = running(NOV28_MS);
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    st.state = ERPS_STATE_FAILED;
    erps_strlcpy(st.last.detail, "{next} {interval} \xff{detail}",
                 sizeof(st.last.detail));
    erps_status_render_message(&st);
    erps_i18n_req_t r = req("de", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "In der ERP-Synchronisierungs-Engine ist ein Fehler "
                        "aufgetreten: {next} {interval} \uFFFD{detail}");
    st.last.detail[0] = '\0';
    r = req("en", "", "", false);
    assert_string_equal(render(&st, &r, out, sizeof(out)),
                        "The ERP sync engine has failed: ");
}

static void extreme_times(void **state) {
    erps_status_t st = running(INT64_C(253402300799999));
    char out[ERPS_I18N_MESSAGE_MAX];
    (void)state;
    erps_i18n_req_t r = req("en", "", "", true);
    assert_non_null(strstr(render(&st, &r, out, sizeof(out)),
                           "Dec 31, 9999, 11:59:59" NNBSP "PM +00:00."));
    st.next_iteration_ms = 1;
    r = req("de", "", "Asia/Tokyo", true);
    assert_non_null(strstr(render(&st, &r, out, sizeof(out)),
                           "01.01.1970, 09:00:00 +09:00."));
    /* Zones move: Kiribati's Line Islands were -10:40 then. */
    r = req("de", "", "Pacific/Kiritimati", true);
    assert_non_null(strstr(render(&st, &r, out, sizeof(out)),
                           "31.12.1969, 13:20:00 -10:40."));
    /* Beyond what a decoder lets through: an answer or -1, never garbage. */
    static const int64_t wild[] = {INT64_MAX, INT64_MIN, -1};
    for (size_t i = 0; i < 3; i++) {
        st.next_iteration_ms = wild[i];
        int rc = erps_i18n_render(&st, &r, out, sizeof(out));
        assert_true(rc == 0 || rc == -1);
        assert_true(utf8_valid(out));
        if (rc)
            assert_string_equal(out, "");
    }
}

static void out_too_small(void **state) {
    erps_status_t st = running(NOV28_MS);
    char full[ERPS_I18N_MESSAGE_MAX], out[ERPS_I18N_MESSAGE_MAX];
    static const char *const langs[] = {"en", "x", "nb"};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        erps_i18n_req_t r = req(langs[i], "", "Europe/Oslo", true);
        for (size_t k = 0; k < 2; k++) {
            if (k == 1) /* the fallback path */
                erps_strlcpy(st.message_id, "SR_OTHER", sizeof(st.message_id));
            render(&st, &r, full, sizeof(full));
            size_t need = strlen(full) + 1;
            for (size_t size = 1; size < need; size++) {
                memset(out, 'z', sizeof(out));
                assert_int_equal(erps_i18n_render(&st, &r, out, size), -1);
                assert_string_equal(out, "");
                assert_int_equal(out[size], 'z'); /* nothing past size */
            }
            assert_int_equal(erps_i18n_render(&st, &r, out, need), 0);
            assert_string_equal(out, full);
            erps_strlcpy(st.message_id, "SR_ERPSYNC_RUNNING",
                         sizeof(st.message_id));
        }
    }
    erps_i18n_req_t r = req("en", "", "", false);
    assert_int_equal(erps_i18n_render(&st, &r, out, 0), -1);
}

static void culture_accepts(void **state) {
    static const struct {
        const char *header, *want;
    } ok[] = {
        {"nb-NO", "nb_NO"},
        {"en-US", "en_US"},
        {"de", "de"},
        {"fr-CA", "fr_CA"},
        {"zh-Hans-CN", "zh_Hans_CN"},
        {"en_US", "en_US"},
        {"  EN-us\t", "en_US"},
        {"zh-CHS", "zh_Hans"},
        {"zh-cht", "zh_Hant"},
        {"es-419", "es_419"},
        {"sr-Latn-RS", "sr_Latn_RS"},
        {"no", "no"},
        {"no-NO", "no"},
        {"zh-TW", "zh_Hant_TW"},
        {"zh-CN", "zh_Hans_CN"},
        {"zh-Hant-CN", "zh_Hant"},
        {"sr-RS", "sr_Cyrl_RS"},
        {"sr-Latn-CS", "sr_Latn"},
        {"pa-PK", "pa_Arab_PK"},
        {"en-Latn-US", "en_US"},
        {"en-US-POSIX", "en_US_POSIX"},
        {"ca-ES-valencia", "ca_ES"},
        /* What ICU has no data for falls back as ICU's lookup would, so
         * no new name ever reaches ICU's caches. */
        {"fr-US", "fr"},
        {"de-DE-1901", "de_DE"},
        {"en-US-abcde", "en_US"},
        {"en-US-x-private", "en_US"},
        /* Extensions are ignored, as in .NET's formatting; known or not,
         * each would be a new name for ICU's caches. */
        {"de-DE-u-co-phonebk", "de_DE"},
        {"en-US-u-nu-arab-ca-japanese", "en_US"},
        {"th-TH-u-nu-thai", "th_TH"},
        {"th-TH-u-nu-thap", "th_TH"},
        {"", ""},
        {"   ", ""},
    };
    char out[64], err[256];
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        err[0] = '\0';
        strcpy(out, "junk");
        if (erps_i18n_culture_parse(ok[i].header, out, sizeof(out), err,
                                    sizeof(err)) != 0)
            fail_msg("\"%s\" refused: %s", ok[i].header, err);
        assert_string_equal(out, ok[i].want);
    }
}

static void culture_refuses(void **state) {
    static const struct {
        const char *header, *want;
    } bad[] = {
        {"xx-YY", "SO-Culture \"xx-YY\" is not a known culture"},
        {"en-YY", "SO-Culture \"en-YY\" is not a known culture"},
        {"en-ZZ", "SO-Culture \"en-ZZ\" is not a known culture"},
        {"en-Qaaa", "SO-Culture \"en-Qaaa\" is not a known culture"},
        {"und", "SO-Culture \"und\" is not a known culture"},
        {"x-klingon", "SO-Culture \"x-klingon\" is not a known culture"},
        {"i-klingon", "SO-Culture \"i-klingon\" is not a known culture"},
        {"en--US", "SO-Culture \"en--US\" is not a valid culture name (a "
                   "BCP 47 tag such as \"nb-NO\")"},
        {"en-US-", "SO-Culture \"en-US-\" is not a valid culture name"},
        {"-en", "SO-Culture \"-en\" is not a valid culture name"},
        {"a", "SO-Culture \"a\" is not a valid culture name"},
        {"english", "SO-Culture \"english\" is not a known culture"},
        {"en US", "SO-Culture \"en US\" is not a valid culture name"},
        {"en-US,nb;q=0.5", "SO-Culture \"en-US,nb;q=0.5\" is not a valid"},
        {"nb-N\xc3\x98", "SO-Culture \"nb-N??\" is not a valid culture name"},
        {"de\r\nX: 1", "SO-Culture \"de??X: 1\" is not a valid"},
    };
    char out[64], err[256];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(erps_i18n_culture_parse(bad[i].header, out,
                                                 sizeof(out), err, sizeof(err)),
                         400);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("\"%s\": \"%s\", want \"%s\"", bad[i].header, err,
                     bad[i].want);
        assert_string_equal(out, "");
    }
    /* Too long for the header, and too long for the caller's buffer. */
    char tag[200];
    memset(tag, 0, sizeof(tag));
    strcpy(tag, "en-US");
    for (size_t n = strlen(tag); n + 9 < sizeof(tag); n += 9)
        memcpy(tag + n, "-abcdefgh", 9);
    assert_int_equal(
        erps_i18n_culture_parse(tag, out, sizeof(out), err, sizeof(err)), 400);
    assert_non_null(strstr(err, "is too long for a culture name"));
    assert_non_null(strstr(err, "SO-Culture \"en-US-abcdefgh"));
    assert_non_null(strstr(err, "...\""));
    assert_true(strlen(err) < 120);
    assert_int_equal(
        erps_i18n_culture_parse("zh-Hans-CN", out, 10, err, sizeof(err)), 400);
    assert_string_equal(err,
                        "SO-Culture \"zh-Hans-CN\" is too long for a culture "
                        "name");
    assert_int_equal(
        erps_i18n_culture_parse("zh-Hans-CN", out, 11, err, sizeof(err)), 0);
    assert_string_equal(out, "zh_Hans_CN");
    /* A short errstr is cut, never overrun. */
    char small[8];
    memset(small, 'z', sizeof(small));
    assert_int_equal(
        erps_i18n_culture_parse("xx-YY", out, sizeof(out), small, 5), 400);
    assert_string_equal(small, "SO-C");
    assert_int_equal(small[5], 'z');
}

static void zone_accepts(void **state) {
    static const struct {
        const char *header, *zone;
        bool offset;
    } ok[] = {
        {"Europe/Oslo", "Europe/Oslo", false},
        {"UTC", "UTC", false},
        {"GMT", "GMT", false},
        {"Etc/UTC", "Etc/UTC", false},
        {"America/New_York, includeTZOffset", "America/New_York", true},
        {"Europe/Oslo ,INCLUDETZOFFSET", "Europe/Oslo", true},
        {"  Europe/Oslo\t,\tincludetzoffset  ", "Europe/Oslo", true},
        {"UTC, includeTZOffset, includeTZOffset", "UTC", true},
        {" Asia/Kolkata ", "Asia/Kolkata", false},
        {"US/Eastern", "US/Eastern", false},
        {"America/Montreal", "America/Montreal", false},
        {"Etc/GMT-3", "Etc/GMT-3", false},
        {"", "", false},
        {"  ", "", false},
        /* SuperOffice's own names stand for IANA ids. */
        {"NO", "Europe/Oslo", false},
        {"no, includeTZOffset", "Europe/Oslo", true},
        {"261", "Europe/Oslo", false},
        {"DK", "Europe/Copenhagen", false},
        {"FR", "Europe/Paris", false},
        {"BD", "Asia/Dhaka", false},
        {"DE", "Europe/Berlin", false},
        {"1", "UTC", false},
        {"US-NY", "America/New_York", false},
        {"460", "America/New_York", false},
        {"us-ca", "America/Los_Angeles", false},
        {"433", "Pacific/Honolulu", false},
        {"CA-QC", "America/Toronto", false},
        {"AU-ACT", "Australia/Sydney", false},
        {"36", "Australia/Sydney", false},
    };
    char zone[64], err[256];
    bool offset;
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        err[0] = '\0';
        offset = !ok[i].offset;
        if (erps_i18n_zone_parse(ok[i].header, zone, sizeof(zone), &offset, err,
                                 sizeof(err)) != 0)
            fail_msg("\"%s\" refused: %s", ok[i].header, err);
        assert_string_equal(zone, ok[i].zone);
        assert_int_equal(offset, ok[i].offset);
    }
}

static void zone_refuses(void **state) {
    static const struct {
        const char *header, *want;
    } bad[] = {
        {"Mars/Olympus_Mons",
         "SO-TimeZone \"Mars/Olympus_Mons\" is not a known time zone (an IANA "
         "id such as \"Europe/Oslo\" or \"UTC\")"},
        {"Etc/Unknown", "SO-TimeZone \"Etc/Unknown\" is not a known time zone"},
        {"GMT+3", "SO-TimeZone \"GMT+3\" is not a known time zone"},
        {"GMT+03:00", "SO-TimeZone \"GMT+03:00\" is not a known time zone"},
        {"europe/oslo", "SO-TimeZone \"europe/oslo\" is not a known time zone"},
        {"Europe/Oslo includeTZOffset",
         "SO-TimeZone \"Europe/Oslo includeTZOffset\" is not a known"},
        {"Europe/\xc3\x98slo", "SO-TimeZone \"Europe/??slo\" is not a known"},
        {"Europe/\xff", "SO-TimeZone \"Europe/?\" is not a known time zone"},
        {"UTC, includeOffset",
         "SO-TimeZone option \"includeOffset\" is not known (the one option "
         "is \"includeTZOffset\")"},
        {"UTC,", "SO-TimeZone option \"\" is not known"},
        {"UTC, includeTZOffset, x", "SO-TimeZone option \"x\" is not known"},
        {", includeTZOffset",
         "SO-TimeZone names no time zone before its option"},
        {"US", "SO-TimeZone \"US\" is not a known time zone (an IANA id such "
               "as \"Europe/Oslo\" or \"UTC\"), and a country of several "
               "time zones"},
        {"XX", "SO-TimeZone \"XX\" is not a known time zone (an IANA id such "
               "as \"Europe/Oslo\" or \"UTC\"), and not a country code"},
        {"999", "SO-TimeZone \"999\" is not a known time zone (an IANA id such "
                "as \"Europe/Oslo\" or \"UTC\"), and not one of the "
                "SuperOffice time zone ids published"},
        {"BR-SP", "SO-TimeZone \"BR-SP\" is not a known time zone (an IANA id "
                  "such as \"Europe/Oslo\" or \"UTC\"), and a region"},
        {"US-XX", "SO-TimeZone \"US-XX\" is not a known time zone"},
        {"Europe/Oslo_Europe/Oslo_Europe/Oslo_Europe/Oslo_Europe/Oslo_Europe/"
         "Oslo",
         "SO-TimeZone \"Europe/Oslo_Europe/Oslo_Europe/Oslo_Europe/Oslo_Europe/"
         "Oslo_Euro...\" is not a known time zone"},
    };
    char zone[64], err[256];
    bool offset;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        offset = true;
        assert_int_equal(erps_i18n_zone_parse(bad[i].header, zone, sizeof(zone),
                                              &offset, err, sizeof(err)),
                         400);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("\"%s\": \"%s\", want \"%s\"", bad[i].header, err,
                     bad[i].want);
        assert_string_equal(zone, "");
        assert_false(offset);
    }
    /* The canonical id must fit the caller's buffer. */
    assert_int_equal(erps_i18n_zone_parse("Europe/Oslo", zone, 11, &offset, err,
                                          sizeof(err)),
                     400);
    assert_string_equal(err,
                        "SO-TimeZone \"Europe/Oslo\" is too long for a time "
                        "zone");
    assert_int_equal(erps_i18n_zone_parse("Europe/Oslo", zone, 12, &offset, err,
                                          sizeof(err)),
                     0);
    assert_string_equal(zone, "Europe/Oslo");
}

/* Many HTTP threads render at once: same answers as one thread alone. */
#define THREADS 4
typedef struct job {
    const char *lang, *culture, *zone;
    char want[ERPS_I18N_MESSAGE_MAX];
    int bad;
} job_t;

static void *hammer(void *arg) {
    job_t *j = arg;
    char out[ERPS_I18N_MESSAGE_MAX], culture[64], zone[64], err[256];
    bool offset;
    erps_status_t st = running(NOV28_MS);
    for (int i = 0; i < 200; i++) {
        if (erps_i18n_culture_parse(j->culture, culture, sizeof(culture), err,
                                    sizeof(err)) ||
            erps_i18n_zone_parse(j->zone, zone, sizeof(zone), &offset, err,
                                 sizeof(err))) {
            j->bad++;
            continue;
        }
        erps_i18n_req_t r = req(j->lang, culture, zone, offset);
        if (erps_i18n_render(&st, &r, out, sizeof(out)) ||
            strcmp(out, j->want) != 0)
            j->bad++;
    }
    return NULL;
}

static void threads(void **state) {
    static job_t jobs[THREADS] = {
        {"en", "en-GB", "Europe/London, includeTZOffset", "", 0},
        {"nb", "nb-NO", "Europe/Oslo", "", 0},
        {"de", "de-AT", "Europe/Vienna, includeTZOffset", "", 0},
        {"fr", "fr-CA", "America/Montreal", "", 0},
    };
    pthread_t t[THREADS];
    (void)state;
    for (int i = 0; i < THREADS; i++) {
        char culture[64], zone[64], err[256];
        bool offset;
        erps_status_t st = running(NOV28_MS);
        assert_int_equal(erps_i18n_culture_parse(jobs[i].culture, culture,
                                                 sizeof(culture), err,
                                                 sizeof(err)),
                         0);
        assert_int_equal(erps_i18n_zone_parse(jobs[i].zone, zone, sizeof(zone),
                                              &offset, err, sizeof(err)),
                         0);
        erps_i18n_req_t r = req(jobs[i].lang, culture, zone, offset);
        render(&st, &r, jobs[i].want, sizeof(jobs[i].want));
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &jobs[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
}

static void culture_gives_a_language(void **state) {
    char lang[16];
    (void)state;
    static const char *const cases[][2] = {{"de_DE", "de"}, {"nb", "nb"},
                                           {"fr-CA", "fr"}, {"ja_JP", "en"},
                                           {"", "en"},      {"nl_BE", "nl"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strcpy(lang, "en");
        erps_i18n_culture_language(cases[i][0], lang, sizeof(lang));
        assert_string_equal(lang, cases[i][1]);
    }
}

/* The reader's Reason: a catalog text without placeholders. */
static void texts_by_language(void **state) {
    static const struct {
        const char *lang, *want;
    } cases[] = {
        {"en", "the caller may only read the engine status"},
        {"nb", "brukeren kan bare lese motorens status"},
        {"DE", "der Aufrufer darf den Status der Engine nur lesen"},
        {"fr", "l'appelant peut seulement lire l'état du moteur"},
        {"tlh", "the caller may only read the engine status"}, /* English */
        {"x", "[SR_ERPSYNC_READER_REASON]"},
        {"*", "[SR_ERPSYNC_READER_REASON]"},
    };
    erps_i18n_req_t req;
    char out[128], small[8];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&req, 0, sizeof(req));
        erps_strlcpy(req.language, cases[i].lang, sizeof(req.language));
        assert_int_equal(
            erps_i18n_text(&req, "SR_ERPSYNC_READER_REASON", out, sizeof(out)),
            0);
        assert_string_equal(out, cases[i].want);
    }
    assert_int_equal(erps_i18n_text(&req, "SR_NOPE", out, sizeof(out)), -1);
    assert_string_equal(out, "");
    erps_strlcpy(req.language, "nb", sizeof(req.language));
    assert_int_equal(
        erps_i18n_text(&req, "SR_ERPSYNC_READER_REASON", small, sizeof(small)),
        -1);
    assert_string_equal(small, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(texts_by_language),
        cmocka_unit_test(culture_gives_a_language),
        cmocka_unit_test(languages_table),
        cmocka_unit_test(every_language_every_id),
        cmocka_unit_test(english_is_the_agents),
        cmocka_unit_test(pinned_running),
        cmocka_unit_test(headers_to_text),
        cmocka_unit_test(number_grouping),
        cmocka_unit_test(french_typography),
        cmocka_unit_test(language_choice),
        cmocka_unit_test(raw_ids),
        cmocka_unit_test(unknown_id_falls_back),
        cmocka_unit_test(detail_is_text),
        cmocka_unit_test(extreme_times),
        cmocka_unit_test(out_too_small),
        cmocka_unit_test(culture_accepts),
        cmocka_unit_test(culture_refuses),
        cmocka_unit_test(zone_accepts),
        cmocka_unit_test(zone_refuses),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
