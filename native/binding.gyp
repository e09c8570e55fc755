# trgwd's one native addon (N-API, plain C): SRTP/SRTCP over the system libsrtp2 now, DTLS later.
# Build: npm run build:native  (= node-gyp rebuild -C native). Needs libsrtp2-dev and pkg-config.
# Only libsrtp2 is linked: no OpenSSL of our own, so the process never holds a second copy of it.
{
  "targets": [
    {
      "target_name": "trgwd_native",
      "sources": ["src/addon.c", "src/srtp.c", "src/dtls.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "cflags": ["<!@(pkg-config --cflags libsrtp2)"],
      "libraries": ["<!@(pkg-config --libs libsrtp2)"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-std=gnu11", "<!@(pkg-config --cflags libsrtp2)"]
      }
    }
  ]
}
