/*
 * xml_write.c - answers as DataContract XML, as .NET's
 * DataContractSerializer writes them. The walk is iterative because it
 * takes any cJSON tree.
 */
#include "body_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

static void fmt_number(double d, char out[48]) {
    if (isnan(d)) {
        strcpy(out, "NaN");
    } else if (isinf(d)) {
        strcpy(out, d > 0 ? "INF" : "-INF");
    } else if (d == trunc(d) && fabs(d) < 1e17) {
        snprintf(out, 48, "%.0f", d);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 48, "%.*g", prec, d);
            if (strtod(out, NULL) == d)
                break;
        }
    }
}

/* The smallest .NET number type that holds every number of a list. */
typedef struct num_kind {
    int integral, in_int, in_long;
} num_kind_t;

static void num_fits(double d, num_kind_t *k) {
    if (!isfinite(d) || d != trunc(d))
        k->integral = 0;
    if (!(d >= INT32_MIN && d <= INT32_MAX))
        k->in_int = 0;
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        k->in_long = 0;
}

/* What kinds of value a list holds. */
typedef struct tally {
    int str, boo, num, nul, other;
    num_kind_t k;
} tally_t;

static void tally_item(const cJSON *v, tally_t *t) {
    t->str |= cJSON_IsString(v);
    t->boo |= cJSON_IsBool(v);
    t->nul |= cJSON_IsNull(v);
    t->other |= !(cJSON_IsString(v) || cJSON_IsBool(v) || cJSON_IsNull(v) ||
                  cJSON_IsNumber(v));
    if (cJSON_IsNumber(v)) {
        t->num = 1;
        num_fits(v->valuedouble, &t->k);
    }
}

/* The element name DataContract gives the items of a list: one scalar type
 * for all (nulls only with strings), else anyType. */
static const char *list_item_type(const cJSON *arr) {
    tally_t t = {0, 0, 0, 0, 0, {1, 1, 1}};
    for (const cJSON *v = arr->child; v; v = v->next)
        tally_item(v, &t);
    if (t.other || t.str + t.boo + t.num != 1 || (t.nul && !t.str))
        return "anyType";
    if (t.str || t.boo)
        return t.str ? "string" : "boolean";
    return !t.k.integral ? "double"
           : t.k.in_int  ? "int"
           : t.k.in_long ? "long"
                         : "double";
}

typedef struct wframe {
    const cJSON *next; /* the next member or item to write */
    int depth;         /* of the element the frame's container is */
    char item[48];     /* "dNp1:type" for list items, "" for members */
} wframe_t;

typedef struct wstack {
    wframe_t *v;
    size_t n, cap;
} wstack_t;

static int wpush(wstack_t *st, const cJSON *first, int depth,
                 const char *item) {
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        wframe_t *v = realloc(st->v, cap * sizeof(*v));
        if (!v)
            return -1;
        st->v = v;
        st->cap = cap;
    }
    wframe_t *f = &st->v[st->n++];
    f->next = first;
    f->depth = depth;
    snprintf(f->item, sizeof(f->item), "%s", item ? item : "");
    return 0;
}

/* A scalar's text into the open element (null and empty strings write
 * none). @returns 0, or -1. */
static int enc_scalar(xmlTextWriterPtr w, const cJSON *v) {
    char buf[48], *owned = NULL;
    const char *text = NULL;
    if (cJSON_IsBool(v)) {
        text = cJSON_IsTrue(v) ? "true" : "false";
    } else if (cJSON_IsNumber(v)) {
        fmt_number(v->valuedouble, buf);
        text = buf;
    } else if ((cJSON_IsString(v) || cJSON_IsRaw(v)) && v->valuestring) {
        if (!(text = body_xml_clean(v->valuestring, &owned)))
            return -1;
    }
    int rc = text ? xmlTextWriterWriteString(w, BAD_CAST text) : 0;
    free(owned);
    return rc < 0 ? -1 : 0;
}

/* Writes v into the element just started at depth: scalars and nil close
 * it, containers push a frame (closed when the frame runs out). */
static int enc_value(xmlTextWriterPtr w, const cJSON *v, int depth,
                     wstack_t *st) {
    char buf[48], attr[40];
    if (cJSON_IsObject(v))
        return wpush(st, v->child, depth, NULL);
    if (cJSON_IsArray(v)) {
        snprintf(attr, sizeof(attr), "xmlns:d%dp1", depth);
        snprintf(buf, sizeof(buf), "d%dp1:%s", depth, list_item_type(v));
        if (xmlTextWriterWriteAttribute(w, BAD_CAST attr,
                                        BAD_CAST ERPS_XML_ARRAYS_NS) < 0)
            return -1;
        return wpush(st, v->child, depth, buf);
    }
    int rc =
        !v || cJSON_IsNull(v)
            ? xmlTextWriterWriteAttribute(w, BAD_CAST "i:nil", BAD_CAST "true")
            : enc_scalar(w, v);
    return rc < 0 || xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

/* The next member or item of the innermost open container: its start tag
 * and value, or the container's end tag when it has no more. */
static int enc_step(xmlTextWriterPtr w, wstack_t *st, char **name) {
    wframe_t *f = &st->v[st->n - 1];
    const cJSON *v = f->next;
    if (!v) {
        st->n--;
        return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
    }
    f->next = v->next;
    int depth = f->depth + 1, rc;
    if (f->item[0]) {
        rc = xmlTextWriterStartElement(w, BAD_CAST f->item);
    } else {
        free(*name);
        *name = body_xml_name_encode(v->string ? v->string : "");
        rc = *name ? xmlTextWriterStartElement(w, BAD_CAST * name) : -1;
    }
    return rc < 0 || enc_value(w, v, depth, st) ? -1 : 0; /* may move st->v */
}

/* The whole document into w: the root element with the xsi namespace,
 * then obj. @returns 0, or -1. */
static int enc_document(xmlTextWriterPtr w, const cJSON *obj,
                        const char *root) {
    wstack_t st = {0};
    char *name = body_xml_name_encode(root && root[0] ? root : "root");
    int rc = !name || xmlTextWriterStartElement(w, BAD_CAST name) < 0 ||
                     xmlTextWriterWriteAttribute(
                         w, BAD_CAST "xmlns:i", BAD_CAST ERPS_XML_XSI_NS) < 0 ||
                     enc_value(w, obj, 1, &st)
                 ? -1
                 : 0;
    while (rc == 0 && st.n)
        rc = enc_step(w, &st, &name);
    if (rc == 0 && xmlTextWriterFlush(w) < 0)
        rc = -1;
    free(st.v);
    free(name);
    return rc;
}

char *erps_xml_encode(const cJSON *obj, const char *root, size_t *len) {
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    char *out = NULL;
    int n = w && enc_document(w, obj, root) == 0 ? xmlBufferLength(buf) : -1;
    if (n >= 0 && (out = malloc((size_t)n + 1))) {
        memcpy(out, xmlBufferContent(buf), (size_t)n);
        out[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    if (w)
        xmlFreeTextWriter(w);
    if (buf)
        xmlBufferFree(buf);
    return out;
}
