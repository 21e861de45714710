# syntax=docker/dockerfile:1
# One image for all three services: `docker run jetbus dispatcher|coordinator|worker` (default: worker).
# TypeScript runs directly through tsx (a runtime dependency), so there is no build step: stage 1 installs the
# production dependencies for the target platform (esbuild, which tsx uses, ships a per-platform binary, so
# node_modules is never copied from the host), stage 2 adds the sources and drops root.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
# Files stay owned by root and read-only for the service user; the only writes at run time are tsx's
# transpile cache under /tmp (mount an emptyDir there when the root filesystem is read-only).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin/ ./bin/
COPY cli/ ./cli/
COPY shared/ ./shared/
COPY services/ ./services/
COPY examples/ ./examples/

# The base image's unprivileged `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# 9101 dispatcher, 9102 coordinator, 9103 worker: /healthz, /readyz, /metrics (JETBUS_HTTP_PORT overrides).
EXPOSE 9101 9102 9103

# slim has no curl or wget: probe /healthz with node's fetch. The port is JETBUS_HTTP_PORT, else the default
# of the service named on PID 1's command line. 127.0.0.1, not localhost: the server listens on IPv4
# (JETBUS_HTTP_HOST=0.0.0.0) and node may resolve localhost to ::1 first.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const c=require('fs').readFileSync('/proc/1/cmdline','utf8');const p=process.env.JETBUS_HTTP_PORT||(/dispatcher/.test(c)?9101:/coordinator/.test(c)?9102:9103);fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# SIGTERM (docker stop, Kubernetes) drains: in-flight jobs finish or are released, for up to
# JETBUS_DRAIN_TIMEOUT_MS (+10 s hard stop). Give the container a stop grace period longer than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/jetbus.mjs"]
CMD ["worker"]
