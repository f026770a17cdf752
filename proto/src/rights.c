/*
 * rights.c - the WebAPI's ETableRight and EFieldRight masks as text.
 *
 * The WebAPI writes a mask as one of its named values when the mask equals
 * one, and otherwise as comma-separated flag names (the .NET [Flags] enum
 * ToString()). The named combinations are those the WebAPI publishes for
 * ETableRight (R = read, U = update, I = insert, D = delete, F = filtering).
 */
#include "erpsync/proto.h"

#include <stdio.h>
#include <string.h>

typedef struct named {
    unsigned mask;
    const char *name;
} named_t;

static const named_t table_named[] = {
    {ERPS_TR_SELECT | ERPS_TR_UPDATE | ERPS_TR_INSERT | ERPS_TR_DELETE |
         ERPS_TR_FILTERING,
     "FULL"},
    {ERPS_TR_UPDATE | ERPS_TR_INSERT | ERPS_TR_DELETE, "WRITE"},
    {ERPS_TR_SELECT | ERPS_TR_UPDATE | ERPS_TR_RESTRICTED_UPDATE, "URU"},
    {ERPS_TR_SELECT | ERPS_TR_UPDATE | ERPS_TR_DELETE, "UDR"},
    {ERPS_TR_SELECT | ERPS_TR_UPDATE, "UR"},
    {ERPS_TR_SELECT | ERPS_TR_UPDATE | ERPS_TR_INSERT, "URI"},
    {ERPS_TR_SELECT | ERPS_TR_INSERT, "RI"},
    {ERPS_TR_SELECT | ERPS_TR_FILTERING, "RF"},
    {ERPS_TR_FILTERING | ERPS_TR_INSERT, "FI"},
    {ERPS_TR_SELECT, "Select"},
    {ERPS_TR_FILTERING, "Filtering"},
    {0, NULL},
};
static const named_t table_flags[] = {
    {ERPS_TR_SELECT, "Select"},     {ERPS_TR_UPDATE, "Update"},
    {ERPS_TR_INSERT, "Insert"},     {ERPS_TR_DELETE, "Delete"},
    {ERPS_TR_FILTERING, "Filtering"}, {ERPS_TR_RESTRICTED_UPDATE, "RestrictedUpdate"},
    {0, NULL},
};
static const named_t field_named[] = {
    {ERPS_FR_READ | ERPS_FR_WRITE | ERPS_FR_UPDATE, "FULL"},
    {0, NULL},
};
static const named_t field_flags[] = {
    {ERPS_FR_READ, "Read"},
    {ERPS_FR_WRITE, "Write"},
    {ERPS_FR_UPDATE, "Update"},
    {ERPS_FR_UIHINT_MANDATORY, "UIHintMandatory"},
    {ERPS_FR_UIHINT_READONLY, "UIHintReadOnly"},
    {0, NULL},
};

static void mask_name(unsigned mask, const named_t *named, const named_t *flags,
                      char *out, size_t size) {
    size_t used = 0;
    if (mask == 0) {
        snprintf(out, size, "None");
        return;
    }
    for (; named->name; named++) {
        if (named->mask == mask) {
            snprintf(out, size, "%s", named->name);
            return;
        }
    }
    out[0] = '\0';
    for (; flags->name; flags++) {
        if ((mask & flags->mask) && used < size) {
            used += (size_t)snprintf(out + used, size - used, "%s%s",
                                     used ? ", " : "", flags->name);
        }
    }
}

void erps_table_right_name(unsigned mask, char *out, size_t size) {
    mask_name(mask, table_named, table_flags, out, size);
}

void erps_field_right_name(unsigned mask, char *out, size_t size) {
    mask_name(mask, field_named, field_flags, out, size);
}
