/*
 * rights.c - the WebAPI's ETableRight and EFieldRight masks as text.
 *
 * The values and names are the WebAPI's own (SuperOffice.CRM ETableRight
 * and EFieldRight, as in the official TypeScript client's Enums.ts), and the
 * text is what .NET's Enum.ToString() writes for a [Flags] enum: the name
 * when the mask equals a named value; otherwise, walking the named values
 * from the largest down, every one wholly inside what is left of the mask,
 * written smallest first ("UDR, FI" for 31); the number itself when some
 * bits belong to no name.
 */
#include "erpsync/proto.h"

#include <stdio.h>
#include <string.h>

typedef struct named {
    unsigned mask;
    const char *name;
} named_t;

/* Ascending by value, as .NET sorts an enum's values. */
static const named_t table_names[] = {
    {ERPS_TR_SELECT, "Select"},
    {ERPS_TR_UPDATE, "Update"},
    {ERPS_TR_UR, "UR"},
    {ERPS_TR_INSERT, "Insert"},
    {ERPS_TR_RI, "RI"},
    {ERPS_TR_URI, "URI"},
    {ERPS_TR_DELETE, "Delete"},
    {ERPS_TR_UDR, "UDR"},
    {ERPS_TR_FULL, "FULL"},
    {ERPS_TR_FILTERING, "Filtering"},
    {ERPS_TR_RF, "RF"},
    {ERPS_TR_FI, "FI"},
    {ERPS_TR_RESTRICTED_UPDATE, "RestrictedUpdate"},
    {ERPS_TR_URU, "URU"},
    {ERPS_TR_WRITE, "WRITE"},
    {0, NULL},
};
static const named_t field_names[] = {
    {ERPS_FR_READ, "Read"},
    {ERPS_FR_WRITE, "Write"},
    {ERPS_FR_UPDATE, "Update"},
    {ERPS_FR_UIHINT_MANDATORY, "UIHintMandatory"},
    {ERPS_FR_UIHINT_READONLY, "UIHintReadOnly"},
    {0, NULL},
};

static void mask_name(unsigned mask, const named_t *names, char *out,
                      size_t size) {
    size_t n = 0, used = 0, picked[32], cnt = 0;
    unsigned rest = mask;
    while (names[n].name)
        n++;
    if (mask == 0) {
        snprintf(out, size, "None");
        return;
    }
    for (size_t i = n; i-- > 0;) {
        if (names[i].mask == mask) {
            snprintf(out, size, "%s", names[i].name);
            return;
        }
        if ((rest & names[i].mask) == names[i].mask && cnt < 32) {
            rest &= ~names[i].mask;
            picked[cnt++] = i;
        }
    }
    if (rest) {
        snprintf(out, size, "%u", mask);
        return;
    }
    out[0] = '\0';
    while (cnt-- > 0 && used < size)
        used += (size_t)snprintf(out + used, size - used, "%s%s",
                                 used ? ", " : "", names[picked[cnt]].name);
}

void erps_table_right_name(unsigned mask, char *out, size_t size) {
    mask_name(mask, table_names, out, size);
}

void erps_field_right_name(unsigned mask, char *out, size_t size) {
    mask_name(mask, field_names, out, size);
}
