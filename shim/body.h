/*
 * body.h - request bodies in every content type the WebAPI takes (JSON, XML,
 * form, JSON patch, merge patch), decoded into one cJSON request object, and
 * answers written as XML the way .NET's DataContractSerializer writes them.
 *
 * Property names are matched case-insensitively (ASCII), as the WebAPI does,
 * so a decoded object never holds two members whose names differ only in
 * case, and never a member with an empty name.
 */
#ifndef ERPSYNC_SHIM_BODY_H
#define ERPSYNC_SHIM_BODY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "negotiate.h"

/* Objects and arrays, the outermost is 1. */
#define ERPS_BODY_JSON_MAX_DEPTH   32
#define ERPS_BODY_XML_MAX_DEPTH    16    /* elements, the root is 1 */
#define ERPS_BODY_XML_MAX_ELEMENTS 10000 /* in one XML body */
#define ERPS_BODY_PATCH_MAX_OPS    1000  /* operations in one JSON patch */
/* What the "copy" operations of one JSON patch may add in all. */
#define ERPS_BODY_PATCH_COPY_MAX_NODES 10000
#define ERPS_BODY_PATCH_COPY_MAX_BYTES (1024 * 1024)

/** The XML namespace of i:nil. */
#define ERPS_XML_XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
/** The namespace DataContractSerializer puts list items in. */
#define ERPS_XML_ARRAYS_NS                                                     \
    "http://schemas.microsoft.com/2003/10/Serialization/Arrays"

/**
 * Initialises libxml2 (xmlInitParser). Call once per process before any
 * thread calls erps_body_decode or erps_xml_encode.
 * @locality main thread, before the HTTP threads start
 */
void erps_body_init(void);

/**
 * Releases libxml2's global state (xmlCleanupParser). Call once at exit,
 * after every other thread has stopped using this module and libxml2.
 * @locality main thread, after the HTTP threads stopped
 */
void erps_body_cleanup(void);

/**
 * Decodes a request body into the request object.
 *
 * Charset (ct->charset): "", "utf-8", "utf8" and "us-ascii" mean UTF-8 and
 * the body must be valid UTF-8; any other name is converted to UTF-8 with
 * iconv. A UTF-8 byte order mark is skipped. For XML without a charset,
 * libxml2 reads the byte order mark and the XML declaration instead; with
 * one, the charset wins over the declaration.
 *
 * - JSON: exactly one JSON object (RFC 8259, strictly: no control
 *   characters or \u0000 in strings, no numbers such as 01 or 1.), at most
 *   32 levels deep.
 * - XML: the root element (any name, namespaces ignored) is the object;
 *   each child element a member named by its local name (with .NET's
 *   _xHHHH_ escapes decoded): an element with child elements is an object,
 *   one with i:nil="true" null, any other its text trimmed of XML blanks (a
 *   string). An element whose child elements are all in ERPS_XML_ARRAYS_NS
 *   (or that is empty and declares that namespace) is an array, as
 *   erps_xml_encode writes lists. At most 16 levels and 10000 elements.
 *   Any DOCTYPE is refused (no DTD, no entities, no network or file
 *   access); so is a document that is not namespace-well-formed.
 * - Form (application/x-www-form-urlencoded): name=value pairs joined by
 *   "&", "+" for space, %XX escapes; every value is a string. An empty body
 *   is an empty object. With a legacy charset (iso-8859-1, windows-1252,
 *   ...) escaped bytes are in that charset, as browsers send them.
 * - JSON patch (RFC 6902): an array of at most 1000 operations applied in
 *   order to a copy of base. JSON pointer tokens match object members
 *   case-insensitively; "add" to a member that exists in any case replaces
 *   it and keeps its spelling. The result must be an object.
 * - Merge patch (RFC 7396): an object merged into a copy of base (null
 *   deletes; names matched case-insensitively, existing spelling kept).
 *
 * base: the request object with its defaults, e.g. {"Run": false}; only the
 * two patch types use it (read, never changed). NULL is an empty object.
 *
 * @returns the object (the caller frees it with cJSON_Delete), or NULL with
 * *http_status and errstr: 400 when the body is malformed (the message
 * names what and where, e.g. "the body is not valid JSON (at byte 12)",
 * "element 'Run' appears twice (line 3)", "JSON patch operation 1
 * (replace): path \"/Foo\" does not exist"; byte offsets count from 0),
 * 415 when the charset is not supported ("charset \"x\" is not supported")
 * or the media type is unknown, 500 when out of memory. *http_status is
 * left alone on success.
 * @locality any thread (after erps_body_init); base is only read
 */
cJSON *erps_body_decode(const erps_ctype_t *ct, const char *body, size_t len,
                        const cJSON *base, int *http_status, char *errstr,
                        size_t errstr_size);

/**
 * Writes obj as XML the way .NET's DataContractSerializer does, without an
 * XML declaration: root element `root` with
 * xmlns:i="http://www.w3.org/2001/XMLSchema-instance", each member a child
 * element in order, objects nested, null as <Name i:nil="true"/>, booleans
 * true/false, integral numbers without a fraction (others in the shortest
 * form that reads back the same; NaN, INF, -INF), strings escaped (CR as
 * &#13; so it survives parsing). Characters XML 1.0 forbids (controls other
 * than tab, LF and CR, U+FFFE, U+FFFF, invalid UTF-8) are written as
 * U+FFFD. Names that are not XML names are escaped as XmlConvert does
 * ("1st" -> "_x0031_st", "a b" -> "a_x0020_b"; an empty name -> "_").
 * Arrays are lists: <Name xmlns:dNp1="ERPS_XML_ARRAYS_NS"> holding one
 * <dNp1:string> (or boolean, int, long, double, anyType by the items'
 * type) element per item, N the list element's depth (the root is 1), e.g.
 * <StatusArguments xmlns:d2p1="..."><d2p1:string>a</d2p1:string>
 * </StatusArguments>. A non-object obj becomes the content of the root.
 * root NULL or "" is written as "root".
 * @returns a NUL-terminated string the caller frees with free(), *len (may
 * be NULL) set to its length, or NULL when out of memory.
 * @locality any thread (after erps_body_init); obj is only read
 */
char *erps_xml_encode(const cJSON *obj, const char *root, size_t *len);

#endif
