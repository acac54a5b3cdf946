# syntax=docker/dockerfile:1
# login-etl on Node 24, the newest LTS line (supported until April 2028; Node 22 ends in April 2027).
#   docker build -t login-etl .
# The base image is pinned to an exact release. For a reproducible build, pin its digest too:
#   docker buildx imagetools inspect node:24.21.0-bookworm-slim   (then NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:…)
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY src ./src
COPY scripts/bundle.mjs ./scripts/
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    METRICS_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only: no dev dependencies, and no optional ones (pino-pretty only colours a terminal).
RUN npm ci --omit=dev --omit=optional --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY sql ./sql
COPY LICENSE ./
# The image's unprivileged user (uid 1000, gid 1000, as deploy/k8s expects).
USER node
EXPOSE 9464
# `run` serves /healthz on METRICS_HOST (unset, 0.0.0.0 or ::: loopback answers) and METRICS_PORT. A `drain`
# container serves no HTTP: run it with `docker run --no-healthcheck … drain`.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const h = process.env.METRICS_HOST; const host = !h || h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? '[' + h + ']' : h; fetch('http://' + host + ':' + (process.env.METRICS_PORT || 9464) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and receives SIGTERM itself (`npx login-etl run` would leave the service running as an orphan).
# A fixed young generation (16 MB semi-spaces): V8 keeps it at 1 MB under a container memory limit (+11–39 µs of
# CPU per message) and lets Node 24 grow it to 64 MB without one (peak RSS 227 instead of 146 MB). README, "Node
# versions and the container". V8 reads this flag only at start, so it is given here.
ENTRYPOINT ["node", "--max-semi-space-size=16", "bin/login-etl.js"]
CMD ["run"]
