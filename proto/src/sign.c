/*
 * sign.c - end-to-end signatures of commands: HMAC-SHA256 (OpenSSL
 * libcrypto) under a key that the shims and the agents share.
 *
 * Kafka's ACLs decide who may write the commands topic; the signature
 * decides whose commands an agent believes. It covers every field that
 * says what to do, to what, for whom and until when: ce_id, ce_subject
 * (the engine), ce_type, ce_deadline, ce_principal and the value. Each is
 * length-prefixed in the signed text, so no two different commands sign
 * the same bytes.
 */
#include "msg_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#define SIG_PREFIX "hmac-sha256="
#define SIG_LEN    (sizeof(SIG_PREFIX) - 1 + 64)

static const char *const signed_headers[] = {"ce_id", "ce_subject", "ce_type",
                                             "ce_deadline", "ce_principal"};

/* One field of the signed text: "<length>:<bytes>". */
static int mac_field(EVP_MAC_CTX *ctx, const void *p, size_t n) {
    char len[24];
    int k = snprintf(len, sizeof(len), "%zu:", n);
    return EVP_MAC_update(ctx, (const unsigned char *)len, (size_t)k) &&
           (n == 0 || EVP_MAC_update(ctx, p, n));
}

/* HMAC-SHA256 over "erpsync-command-v1" and each signed field. */
static int command_mac(const erps_msg_t *msg, const unsigned char *key,
                       size_t key_len, unsigned char mac[32]) {
    size_t mac_len = 0;
    int ok = 0;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (!ctx || !EVP_MAC_init(ctx, key, key_len, params) ||
        !EVP_MAC_update(ctx, (const unsigned char *)"erpsync-command-v1", 18))
        goto out;
    for (size_t i = 0; i < sizeof(signed_headers) / sizeof(signed_headers[0]);
         i++) {
        const erps_hdr_t *h = erps_msg_header(msg, signed_headers[i]);
        if (!mac_field(ctx, h && h->value ? h->value : "",
                       h && h->value ? h->size : 0))
            goto out;
    }
    if (!mac_field(ctx, msg->value ? msg->value : "", msg->value_len) ||
        !EVP_MAC_final(ctx, mac, &mac_len, 32))
        goto out;
    ok = mac_len == 32;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return ok ? 0 : -1;
}

int erps_command_sign(erps_msg_t *msg, const unsigned char *key,
                      size_t key_len) {
    unsigned char mac[32];
    char text[SIG_LEN + 1];
    if (command_mac(msg, key, key_len, mac))
        return -1;
    memcpy(text, SIG_PREFIX, sizeof(SIG_PREFIX) - 1);
    for (int i = 0; i < 32; i++)
        snprintf(text + sizeof(SIG_PREFIX) - 1 + 2 * i, 3, "%02x", mac[i]);
    OPENSSL_cleanse(mac, sizeof(mac));
    return erps_msg_add_header(msg, "ce_signature", text);
}

int erps_command_verify(const erps_msg_t *msg, const unsigned char *key,
                        size_t key_len, char *errstr, size_t errstr_size) {
    unsigned char mac[32], got[32];
    const erps_hdr_t *h = erps_msg_header(msg, "ce_signature");
    if (!h || !h->value) {
        snprintf(errstr, errstr_size, "the command is not signed");
        return -1;
    }
    int bad = h->size != SIG_LEN ||
              memcmp(h->value, SIG_PREFIX, sizeof(SIG_PREFIX) - 1) != 0;
    for (int i = 0; !bad && i < 32; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c =
                h->value[sizeof(SIG_PREFIX) - 1 + 2 * (size_t)i + (size_t)j];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : -1;
            bad |= d < 0;
            v = v * 16 + (unsigned)(d < 0 ? 0 : d);
        }
        got[i] = (unsigned char)v;
    }
    if (bad) {
        snprintf(errstr, errstr_size,
                 "ce_signature is not %s and 64 hex digits", SIG_PREFIX);
        return -1;
    }
    if (command_mac(msg, key, key_len, mac) ||
        CRYPTO_memcmp(mac, got, 32) != 0) {
        snprintf(errstr, errstr_size, "the command's signature does not match");
        return -1;
    }
    return 0;
}

int erps_sign_key_load(const char *path, unsigned char *key, size_t key_size,
                       size_t *key_len, char *errstr, size_t errstr_size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(errstr, errstr_size, "command signing key %s: cannot open",
                 path);
        return -1;
    }
    size_t n = fread(key, 1, key_size, fp);
    int more = fgetc(fp) != EOF;
    fclose(fp);
    while (n && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--; /* a key written with echo keeps working */
    if (more || n < 32) {
        OPENSSL_cleanse(key, key_size);
        snprintf(errstr, errstr_size,
                 "command signing key %s: must hold 32 to "
                 "%zu bytes (e.g. openssl rand -hex 32)",
                 path, key_size);
        return -1;
    }
    *key_len = n;
    return 0;
}
