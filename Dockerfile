# syntax=docker/dockerfile:1
# mountgate: multi-stage image. Build: docker build -t mountgate:0.1.0 .
# Runs as a numeric non-root user (65532) so Kubernetes can verify runAsNonRoot; works with a
# read-only root filesystem (the chart mounts an emptyDir at /tmp).

# Node.js 24, the LTS line with upstream security fixes until April 2028 (20's ended in April 2026). The node
# suite builds on the same major version (test/node/runtime pins it), and so does `npm run bench`.
ARG NODE_IMAGE=node:24-trixie-slim

# ---- build: compile TypeScript with the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle-kubeconfig.mjs scripts/kubeconfig-entry.mjs ./scripts/
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="mountgate" \
      org.opencontainers.image.description="Kubernetes admission webhook: policy-checked hostPath mounts from a Pod annotation" \
      org.opencontainers.image.licenses="Apache-2.0"
# --max-semi-space-size=8: V8's young generation capped at 8 MiB per semi-space (its default is 16 on
# 64-bit): about 14 MiB less RSS under load for no measurable CPU. 4 saves 7 MiB more but costs CPU and
# the latency tail (BENCHMARKS.md, "Memory: the young generation, and the kubeconfig bundle").
# MALLOC_ARENA_MAX=2: glibc keeps a malloc arena per thread that allocates (V8's compiler and GC helpers
# among them), each holding freed memory; two arenas leave about 5 MiB less RSS after 100,000 reviews for no
# measurable CPU (BENCHMARKS.md, "Memory: malloc arenas").
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=8" \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --chown=0:0 package.json ./
COPY --chown=0:0 examples ./examples
# Files are root-owned and read-only for the runtime user; nothing under /app is writable.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--config", "/etc/mountgate/policy/policy.yaml", \
     "--tls-cert", "/etc/mountgate/tls/tls.crt", "--tls-key", "/etc/mountgate/tls/tls.key", \
     "--port", "8443", "--host", "0.0.0.0", "--metrics-port", "9090", "--shutdown-delay", "5"]
