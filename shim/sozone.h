/*
 * sozone.h - SuperOffice's own time zone names in SO-TimeZone, as IANA ids.
 *
 * SuperOffice names its zones by country code ("NO", "DK"), by country and
 * region for countries with several ("US-NY", "CA-QC", "AU-ACT"), and by
 * the numeric id its /api/v1/timezone list gives each ("261" is NO). See
 * https://docs.superoffice.com/en/api/netserver/web-services/so-timezone.html
 */
#ifndef ERPSYNC_SHIM_SOZONE_H
#define ERPSYNC_SHIM_SOZONE_H

#include <stddef.h>

/**
 * The IANA zone a SuperOffice time zone name stands for, into out.
 * - A numeric id: one of those SuperOffice's documentation publishes
 *   (1 UTC, 36 AU-ACT, 50 BD, 114 CA-QC, 140 DK, 156 FR, 261 NO, 425 US-CA,
 *   433 US-HI, 460 US-NY); other ids differ between installations.
 * - A country and region of the United States, Canada or Australia
 *   ("US-NY", "CA-BC", "AU-WA"), any case.
 * - A country code ("NO", "de"): the country's zone when it has one (from
 *   ICU's data), or its main zone where it has a remote one too (DE, ES,
 *   PT, NZ, CL, EC, ...); a country of several zones needs its region.
 * @returns 0, or -1 with why in why (a reason, without the name).
 * @locality any thread
 */
int erps_sozone_to_iana(const char *name, size_t len, char *out,
                        size_t out_size, const char **why);

#endif
