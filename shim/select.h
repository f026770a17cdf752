/*
 * select.h - the WebAPI's $select query option: which fields of an answer
 * to fill, the others null. Pure functions (no sockets, no global state),
 * unit-tested and fuzzed directly; any HTTP thread may call them.
 */
#ifndef ERPSYNC_SHIM_SELECT_H
#define ERPSYNC_SHIM_SELECT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define ERPS_SELECT_MAX_PATHS 32
#define ERPS_SELECT_MAX_DEPTH 8
#define ERPS_SELECT_NAME_MAX  64

typedef struct erps_select erps_select_t;

/**
 * Parses a $select value such as "IsRunning,interval, TableRight/Mask":
 * comma-separated paths, each one or more names joined by "/"; a name is
 * [A-Za-z_][A-Za-z0-9_]* of at most 64 characters; blanks (space, tab)
 * around names, slashes and commas are allowed; at most 32 paths of at most
 * 8 names. Duplicate paths are fine.
 * @returns the selection (free with erps_select_free), or NULL with errstr
 * saying what is wrong and where (1-based byte positions), e.g.
 * "$select: empty field name at position 11", "$select: unexpected
 * character '!' at position 3", "$select: '/' must be followed by a field
 * name at position 10", "$select is empty", "$select: more than 32 fields",
 * or "out of memory".
 * @locality any thread
 */
erps_select_t *erps_select_parse(const char *text, char *errstr,
                                 size_t errstr_size);

/**
 * Applies a selection to an answer object in place: every member that is
 * not on a selected path (nor inside a selected subtree) becomes JSON null;
 * objects on the way to a selected leaf keep their other members as null.
 * Names match case-insensitively at every level (the object's own spelling
 * is kept). A member on the way that is already null stays null. sel NULL
 * selects everything (obj is left alone).
 * @returns 0, or 400 with errstr when a path names a field the object does
 * not have ("$select: unknown field 'Foo' in 'TableRight/Foo'"), or goes
 * through a value that is not an object ("$select: 'IsRunning' has no
 * fields, in 'IsRunning/x'"), or obj is not an object; obj may be modified
 * partly on error. Allocates nothing, so it cannot run out of memory.
 * @locality any thread (sel is only read; obj belongs to the caller)
 */
int erps_select_apply(const erps_select_t *sel, cJSON *obj, char *errstr,
                      size_t errstr_size);

/** Frees a selection; NULL is fine. */
void erps_select_free(erps_select_t *sel);

#endif
