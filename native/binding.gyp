# trgwd's one native addon (N-API, plain C): SRTP/SRTCP over a vendored libsrtp 2.5.0, and DTLS.
# Build: npm run build:native  (= node-gyp rebuild -C native). Needs a C compiler, python3 and make.
# Crypto is Node's own OpenSSL, for both parts: dtls.c and libsrtp's OpenSSL backend compile against
# <nodedir>/include/node/openssl (on node-gyp's include path) and link no libssl/libcrypto; the
# symbols resolve from the node binary at load time, so the process never holds a second OpenSSL.
# libsrtp (deps/libsrtp, see its README.md) is a static library inside the .node, its symbols hidden:
# no libsrtp2.so, no NSS (whose per-packet cost grew with the live crypto contexts).
{
  "targets": [
    {
      "target_name": "libsrtp",
      "type": "static_library",
      "sources": [
        "deps/libsrtp/srtp/srtp.c",
        "deps/libsrtp/crypto/cipher/aes_gcm_ossl.c",
        "deps/libsrtp/crypto/cipher/aes_icm_ossl.c",
        "deps/libsrtp/crypto/cipher/cipher.c",
        "deps/libsrtp/crypto/cipher/cipher_test_cases.c",
        "deps/libsrtp/crypto/cipher/null_cipher.c",
        "deps/libsrtp/crypto/hash/auth.c",
        "deps/libsrtp/crypto/hash/auth_test_cases.c",
        "deps/libsrtp/crypto/hash/hmac_ossl.c",
        "deps/libsrtp/crypto/hash/null_auth.c",
        "deps/libsrtp/crypto/kernel/alloc.c",
        "deps/libsrtp/crypto/kernel/crypto_kernel.c",
        "deps/libsrtp/crypto/kernel/err.c",
        "deps/libsrtp/crypto/kernel/key.c",
        "deps/libsrtp/crypto/math/datatypes.c",
        "deps/libsrtp/crypto/replay/rdb.c",
        "deps/libsrtp/crypto/replay/rdbx.c"
      ],
      "include_dirs": ["deps/libsrtp", "deps/libsrtp/include", "deps/libsrtp/crypto/include"],
      "defines": ["HAVE_CONFIG_H"],
      "cflags_c": ["-std=gnu11", "-O2", "-fPIC", "-fvisibility=hidden"],
      # For trgwd_native's src/srtp.c ("srtp.h", "cipher.h", "crypto_types.h"). crypto/include also
      # holds err.h, key.h, alloc.h ...: an addon source that wants glibc's <err.h> would get libsrtp's.
      "direct_dependent_settings": {
        "include_dirs": ["deps/libsrtp/include", "deps/libsrtp/crypto/include"]
      }
    },
    {
      "target_name": "trgwd_native",
      "dependencies": ["libsrtp"],
      "sources": ["src/addon.c", "src/srtp.c", "src/dtls.c", "src/shm.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-std=gnu11"]
      }
    }
  ]
}
