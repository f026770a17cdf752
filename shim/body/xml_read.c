/*
 * xml_read.c - XML request bodies into the request object. libxml2 parses
 * with no DTD, no entities and no network or file access; a SAX hook counts
 * elements before the tree grows past the limit. Recursion is bounded by
 * the depth limit, checked before it descends.
 */
#include "body_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

typedef struct xml_guard {
    int doctype;
    int too_many; /* elements past ERPS_BODY_XML_MAX_ELEMENTS */
    long elements;
    startElementNsSAX2Func start; /* libxml2's own */
    int have_error; /* the first error, which names the cause; libxml2's
                     * last one is often a consequence ("Extra content") */
    int line, code;
    char message[200];
} xml_guard_t;

static void xml_on_error(void *ctx, xmlErrorPtr err) {
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard_t *g = ctxt ? ctxt->_private : NULL;
    if (!g || g->have_error || !err || err->level < XML_ERR_ERROR)
        return;
    g->have_error = 1;
    g->line = err->line;
    g->code = err->code;
    snprintf(g->message, sizeof(g->message), "%s",
             err->message ? err->message : "");
}

/*
 * Runs as soon as "<!DOCTYPE name ids" is read, before the internal subset
 * ([...]) or an external DTD is looked at: stopping here means no entity is
 * ever declared, expanded or fetched (XXE, billion laughs, DTDs by URL).
 */
static void xml_refuse_dtd(void *ctx, const xmlChar *name,
                           const xmlChar *external_id,
                           const xmlChar *system_id) {
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard_t *g = ctxt->_private;
    (void)name;
    (void)external_id;
    (void)system_id;
    if (g)
        g->doctype = 1;
    xmlStopParser(ctxt);
}

/* libxml2 2.9's name dictionary slows down more than linearly with the
 * number of distinct names (seconds for some 10^5), so the parse stops at
 * the first element past the limit. */
static void xml_count_element(void *ctx, const xmlChar *localname,
                              const xmlChar *prefix, const xmlChar *uri,
                              int nb_namespaces, const xmlChar **namespaces,
                              int nb_attributes, int nb_defaulted,
                              const xmlChar **attributes) {
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard_t *g = ctxt->_private;
    if (++g->elements > ERPS_BODY_XML_MAX_ELEMENTS) {
        g->too_many = 1;
        xmlStopParser(ctxt);
        return;
    }
    g->start(ctx, localname, prefix, uri, nb_namespaces, namespaces,
             nb_attributes, nb_defaulted, attributes);
}

static int xml_blank_char(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int xml_blank(const xmlChar *s) {
    for (; s && *s; s++)
        if (!xml_blank_char(*s))
            return 0;
    return 1;
}

static int xml_has_href(const xmlNs *ns, const char *href) {
    return ns && ns->href && !strcmp((const char *)ns->href, href);
}

static int xml_declares_arrays(const xmlNode *el) {
    for (const xmlNs *ns = el->nsDef; ns; ns = ns->next)
        if (xml_has_href(ns, ERPS_XML_ARRAYS_NS))
            return 1;
    return 0;
}

/* i:nil: @returns 1 (nil), 0 (not), -1 (bad value or out of memory, e set). */
static int xml_nil(xmlNode *el, berr_t *e) {
    char c1[CLIP_MAX + 4];
    xmlChar *v = xmlGetNsProp(el, BAD_CAST "nil", BAD_CAST ERPS_XML_XSI_NS);
    if (!v)
        return 0;
    const xmlChar *p = v, *q;
    while (xml_blank_char(*p))
        p++;
    q = p + strlen((const char *)p);
    while (q > p && xml_blank_char(q[-1]))
        q--;
    size_t n = (size_t)(q - p);
    int r = (n == 4 && !memcmp(p, "true", 4)) || (n == 1 && *p == '1')    ? 1
            : (n == 5 && !memcmp(p, "false", 5)) || (n == 1 && *p == '0') ? 0
                                                                          : -1;
    xmlFree(v);
    if (r < 0)
        body_fail(e, 400,
                  "element '%s' (line %ld): i:nil must be true or false",
                  body_clip((const char *)el->name, c1), xmlGetLineNo(el));
    return r;
}

static cJSON *xml_value(xmlNode *el, int depth, berr_t *e);

/* Adds el's child elements to obj, each a member. @returns 0 or -1. */
static int xml_members(xmlNode *el, cJSON *obj, int depth, berr_t *e) {
    char c1[CLIP_MAX + 4];
    nameset_t set = {0};
    int rc = -1;
    for (xmlNode *c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char *name = body_xml_name_decode((const char *)c->name);
        if (!name) {
            body_fail_oom(e);
            goto out;
        }
        if (body_nameset_find(&set, name)) {
            body_fail(e, 400, "element '%s' appears twice (line %ld)",
                      body_clip((const char *)c->name, c1), xmlGetLineNo(c));
            free(name);
            goto out;
        }
        cJSON *v = xml_value(c, depth + 1, e);
        if (!v) {
            free(name);
            goto out;
        }
        if (!cJSON_AddItemToObject(obj, name, v)) {
            cJSON_Delete(v);
            free(name);
            body_fail_oom(e);
            goto out;
        }
        free(name);
        if (body_nameset_add(&set, v->string, v) < 0) {
            body_fail_oom(e);
            goto out;
        }
    }
    rc = 0;
out:
    body_nameset_free(&set);
    return rc;
}

/* An element holding list items: an array of their values. */
static cJSON *xml_list(xmlNode *el, int depth, berr_t *e) {
    cJSON *v = cJSON_CreateArray();
    if (!v) {
        body_fail_oom(e);
        return NULL;
    }
    for (xmlNode *c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        cJSON *iv = xml_value(c, depth + 1, e);
        if (!iv) {
            cJSON_Delete(v);
            return NULL;
        }
        cJSON_AddItemToArray(v, iv);
    }
    return v;
}

/* An element holding members: an object of them. */
static cJSON *xml_object(xmlNode *el, int depth, berr_t *e) {
    cJSON *v = cJSON_CreateObject();
    if (!v) {
        body_fail_oom(e);
        return NULL;
    }
    if (xml_members(el, v, depth, e)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* An element holding text: its text and CDATA children joined, XML blanks
 * trimmed, as a string. */
static cJSON *xml_text(xmlNode *el, const char *nm, berr_t *e) {
    sbuf_t b = {0};
    cJSON *v = NULL;
    for (xmlNode *c = el->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            c->content)
            body_sb_put(&b, c->content, strlen((const char *)c->content));
    char *s = body_sb_take(&b);
    if (!s) {
        body_fail_oom(e);
        return NULL;
    }
    size_t a = 0, z = strlen(s);
    while (a < z && xml_blank_char((unsigned char)s[a]))
        a++;
    while (z > a && xml_blank_char((unsigned char)s[z - 1]))
        z--;
    s[z] = '\0';
    if (body_utf8_invalid_at(s + a, z - a) < z - a) {
        body_fail(e, 400,
                  "element '%s' (line %ld) holds text that is not valid UTF-8",
                  nm, xmlGetLineNo(el));
    } else if (!(v = cJSON_CreateString(s + a))) {
        body_fail_oom(e);
    }
    free(s);
    return v;
}

typedef enum { XV_TEXT, XV_OBJECT, XV_LIST, XV_BAD } xml_kind_t;

/* What an element holds: text, members, or list items (child elements in
 * ERPS_XML_ARRAYS_NS, or none and that namespace declared); mixing them is
 * XV_BAD with e set. */
/* Child elements, those of them in ERPS_XML_ARRAYS_NS, and whether there
 * is text besides blanks. */
static void count_children(xmlNode *el, size_t *elems, size_t *items,
                           int *text) {
    *elems = *items = 0;
    *text = 0;
    for (xmlNode *c = el->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            (*elems)++;
            *items += xml_has_href(c->ns, ERPS_XML_ARRAYS_NS);
        } else if ((c->type == XML_TEXT_NODE ||
                    c->type == XML_CDATA_SECTION_NODE) &&
                   !xml_blank(c->content)) {
            *text = 1;
        }
    }
}

static xml_kind_t xml_kind(xmlNode *el, const char *nm, berr_t *e) {
    size_t elems, items;
    int text;
    count_children(el, &elems, &items, &text);
    if (elems && text) {
        body_fail(e, 400,
                  "element '%s' (line %ld) mixes text and child elements", nm,
                  xmlGetLineNo(el));
        return XV_BAD;
    }
    if (elems && items && items != elems) {
        body_fail(e, 400,
                  "element '%s' (line %ld) mixes list items (namespace %s) "
                  "and members",
                  nm, xmlGetLineNo(el), ERPS_XML_ARRAYS_NS);
        return XV_BAD;
    }
    if (elems && !items)
        return XV_OBJECT;
    return items || (!text && xml_declares_arrays(el)) ? XV_LIST : XV_TEXT;
}

static cJSON *xml_value(xmlNode *el, int depth, berr_t *e) {
    char c1[CLIP_MAX + 4];
    const char *nm = body_clip((const char *)el->name, c1);
    if (depth > ERPS_BODY_XML_MAX_DEPTH) {
        body_fail(e, 400,
                  "element '%s' (line %ld) is nested deeper than %d levels", nm,
                  xmlGetLineNo(el), ERPS_BODY_XML_MAX_DEPTH);
        return NULL;
    }
    int nil = xml_nil(el, e);
    if (nil) {
        cJSON *v = nil > 0 ? cJSON_CreateNull() : NULL;
        if (nil > 0 && !v)
            body_fail_oom(e);
        return v;
    }
    switch (xml_kind(el, nm, e)) {
    case XV_OBJECT:
        return xml_object(el, depth, e);
    case XV_LIST:
        return xml_list(el, depth, e);
    case XV_TEXT:
        return xml_text(el, nm, e);
    default:
        return NULL;
    }
}

static cJSON *xml_root(xmlNode *root, berr_t *e) {
    char c1[CLIP_MAX + 4];
    const char *nm = body_clip((const char *)root->name, c1);
    switch (xml_nil(root, e)) {
    case 1:
        body_fail(e, 400,
                  "the root element '%s' is nil; the request must be an "
                  "object",
                  nm);
        return NULL;
    case -1:
        return NULL;
    }
    for (xmlNode *c = root->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            !xml_blank(c->content)) {
            body_fail(e, 400,
                      "the root element '%s' holds text; the members must "
                      "be child elements",
                      nm);
            return NULL;
        }
    }
    cJSON *obj = cJSON_CreateObject();
    if (!obj) {
        body_fail_oom(e);
        return NULL;
    }
    if (xml_members(root, obj, 1, e)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* "the body is not well-formed XML: <libxml2's message>, line N". The
 * message may quote document bytes that are not UTF-8 (libxml2 reads on as
 * Latin-1 after an encoding error): those become U+FFFD. */
static void xml_parse_error(xmlParserCtxtPtr ctxt, const xml_guard_t *g,
                            const char *what, berr_t *e) {
    const xmlError *last = xmlCtxtGetLastError(ctxt);
    const char *m = g->have_error           ? g->message
                    : last && last->message ? last->message
                                            : "";
    int code = g->have_error ? g->code : last ? last->code : 0;
    int line = g->have_error ? g->line : last ? last->line : 0;
    char msg[256], *owned;

    if (code == XML_ERR_NO_MEMORY) {
        body_fail_oom(e);
        return;
    }
    snprintf(msg, sizeof(msg), "%s", m);
    for (char *p = msg; *p; p++) /* some messages span lines */
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        msg[--n] = '\0';
    const char *clean = body_xml_clean(msg, &owned);
    if (!clean) {
        body_fail_oom(e);
    } else if (!clean[0]) {
        body_fail(e, 400, "the body is not %s XML", what);
    } else {
        body_fail(e, 400, "the body is not %s XML: %s, line %d", what, clean,
                  line);
    }
    free(owned);
}

/* A parser context whose SAX hooks refuse any DTD, keep the first error
 * and count elements into guard. */
static xmlParserCtxtPtr guarded_parser(xml_guard_t *guard) {
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt || !ctxt->sax) {
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    ctxt->_private = guard;
    ctxt->sax->internalSubset = xml_refuse_dtd;
    ctxt->sax->externalSubset = xml_refuse_dtd;
    ctxt->sax->serror = xml_on_error;
    guard->start = ctxt->sax->startElementNs;
    if (guard->start)
        ctxt->sax->startElementNs = xml_count_element;
    return ctxt;
}

/* The parsed document as the request object, or NULL with e saying what
 * was wrong with it. */
static cJSON *doc_object(xmlParserCtxtPtr ctxt, const xml_guard_t *guard,
                         xmlDocPtr doc, berr_t *e) {
    if (guard->doctype || (doc && (doc->intSubset || doc->extSubset)))
        body_fail(e, 400, "DOCTYPE is not allowed in XML bodies");
    else if (guard->too_many)
        body_fail(e, 400, "the body has more than %d XML elements",
                  ERPS_BODY_XML_MAX_ELEMENTS);
    else if (!doc)
        xml_parse_error(ctxt, guard, "well-formed", e);
    else if (!ctxt->nsWellFormed)
        xml_parse_error(ctxt, guard, "namespace-well-formed", e);
    else if (!xmlDocGetRootElement(doc))
        body_fail(e, 400, "the body is not well-formed XML: no root element");
    else
        return xml_root(xmlDocGetRootElement(doc), e);
    return NULL;
}

cJSON *body_decode_xml(const char *cs, const char *body, size_t len,
                       berr_t *e) {
    text_t t = {0};
    const char *p = body, *enc = NULL;
    size_t n = len;
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                  XML_PARSE_BIG_LINES;
    xml_guard_t guard = {0};
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    cJSON *obj = NULL;

    /* A charset from Content-Type wins over the XML declaration: convert,
     * and have libxml2 read UTF-8 whatever the declaration says. */
    if (cs[0]) {
        if (body_text_from_body(cs, body, len, &t, e))
            return NULL;
        p = t.p;
        n = t.n;
        enc = "UTF-8";
        options |= XML_PARSE_IGNORE_ENC;
    }
    if (n > INT_MAX)
        body_fail(e, 400, "the body is too large for XML");
    else if (!(ctxt = guarded_parser(&guard)))
        body_fail_oom(e);
    else {
        doc = xmlCtxtReadMemory(ctxt, n ? p : "", (int)n, NULL, enc, options);
        obj = doc_object(ctxt, &guard, doc, e);
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    free(t.owned);
    return obj;
}
