# trgwd container image. Two stages: a build stage with the C toolchain the native addon needs, and a
# slim runtime stage that runs as a non-root user.
#
# Networking: H.248 and SDP carry IP addresses and ports in their bodies, so NAT between trgwd and its
# peers breaks calls unless the addresses trgwd advertises are reachable. Prefer host networking
#   docker run --network host -v $PWD/trgwd.yaml:/etc/trgwd/trgwd.yaml:ro trgwd
# or publish the control port and every media port range of the config, and set
# media.realms.<name>.advertise to the host's address:
#   docker run -p 2944:2944/udp -p 2944:2944/tcp -p 9464:9464 \
#     -p 30000-34999:30000-34999/udp -p 30000-34999:30000-34999/tcp \
#     -p 35000-39999:35000-39999/udp -p 35000-39999:35000-39999/tcp \
#     -v $PWD/trgwd.yaml:/etc/trgwd/trgwd.yaml:ro trgwd
# The configuration is read from /etc/trgwd/trgwd.yaml (mount yours there; the image ships the
# loopback default, which is only useful with --network host for a local test).

FROM node:20-bookworm AS build
# libsrtp2-dev and pkg-config: not for the addon (its libsrtp is vendored, native/deps/libsrtp) but
# asked for by npm ci's preinstall check (scripts/ensure-system-deps.mjs; the C test peer uses them).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ pkg-config libsrtp2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY native ./native
COPY config ./config
COPY daemon ./daemon
# node-gyp builds the addon against the headers of the image's own Node (no download).
ENV npm_config_nodedir=/usr/local
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
# No packages: the addon links only libc (libsrtp is built into it, its crypto is Node's OpenSSL).
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build/Release/trgwd_native.node ./native/build/Release/trgwd_native.node
COPY config/default.yaml ./config/default.yaml
COPY config/default.yaml /etc/trgwd/trgwd.yaml
USER node
EXPOSE 2944/udp 2944/tcp 9464/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TRGWD_OPS__LISTEN__PORT || 9464) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/daemon/main.js"]
CMD ["start", "--config", "/etc/trgwd/trgwd.yaml"]
