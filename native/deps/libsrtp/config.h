/*
 * libsrtp 2.5.0 build configuration for trgwd (native/binding.gyp, target "libsrtp").
 *
 * Written by hand: gyp cannot run libsrtp's configure. Equivalent to
 *   ./configure --enable-openssl      (meson: -Dcrypto-library=openssl)
 * on glibc (Linux), minus OPENSSL_KDF (only in some OpenSSL forks, not in Node's 3.0) and minus
 * any debug logging: libsrtp's errors and events reach trgwd through srtp_install_log_handler()
 * and srtp_install_event_handler() (native/src/srtp.c), never stdout/stderr or a file.
 *
 * The crypto (AES-ICM, AES-GCM, HMAC-SHA1) runs on Node's own OpenSSL: the sources compile against
 * <nodedir>/include/node/openssl and the symbols resolve from the node binary at load time.
 */
#ifndef TRGWD_LIBSRTP_CONFIG_H
#define TRGWD_LIBSRTP_CONFIG_H

#define PACKAGE_BUGREPORT "https://github.com/cisco/libsrtp/issues"
#define PACKAGE_NAME "libsrtp2"
#define PACKAGE_STRING "libsrtp2 2.5.0"
#define PACKAGE_TARNAME "libsrtp2"
#define PACKAGE_URL ""
#define PACKAGE_VERSION "2.5.0"

/* Crypto: OpenSSL (crypto/cipher/aes_icm_ossl.c, aes_gcm_ossl.c, crypto/hash/hmac_ossl.c) with GCM. */
#define OPENSSL 1
#define GCM 1
/* #undef OPENSSL_KDF */
/* #undef NSS */
/* #undef MBEDTLS */

/* No debug logging, no report file, nothing on stdout. */
/* #undef ENABLE_DEBUG_LOGGING */
/* #undef ERR_REPORTING_FILE */
/* #undef ERR_REPORTING_STDOUT */

/* What glibc has. */
#define HAVE_ARPA_INET_H 1
#define HAVE_BYTESWAP_H 1
#define HAVE_INET_ATON 1
#define HAVE_INET_PTON 1
#define HAVE_INTTYPES_H 1
#define HAVE_NETINET_IN_H 1
#define HAVE_SIGACTION 1
#define HAVE_SOCKET 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_SOCKET_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_UIO_H 1
#define HAVE_UNISTD_H 1
#define HAVE_USLEEP 1
#define HAVE_INT8_T 1
#define HAVE_INT16_T 1
#define HAVE_INT32_T 1
#define HAVE_UINT8_T 1
#define HAVE_UINT16_T 1
#define HAVE_UINT32_T 1
#define HAVE_UINT64_T 1
#define STDC_HEADERS 1

/* From the compiler rather than from probing, so one file serves x86-64, arm64 and the rest. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WORDS_BIGENDIAN 1
#endif
#define SIZEOF_UNSIGNED_LONG __SIZEOF_LONG__
#define SIZEOF_UNSIGNED_LONG_LONG __SIZEOF_LONG_LONG__

#endif /* TRGWD_LIBSRTP_CONFIG_H */
