# syntax=docker/dockerfile:1
# grantkit serve in a container: docker build -t grantkit . && docker compose up
# (see compose.yaml). test/container/dockerfile.test.ts replays the runtime
# stage's install and start commands, so keep every RUN of that stage relative
# to its WORKDIR and every COPY --from=build to files the build stage makes.

# --- build: the package as npm would publish it ------------------------------
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" builds with tsup, and the sources are not here yet.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm pack --ignore-scripts && mv grantkit-*.tgz grantkit.tgz

# --- runtime: production dependencies only, run as a user who cannot change them
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/grantkit.tgz /src/package-lock.json ./
# pg and ioredis are optional peer dependencies of the library, and the server
# needs them for postgres:// and redis:// storage: they become dependencies of
# this image, at the versions package-lock.json pins (npm keeps a locked
# version that satisfies the range). --ignore-scripts: the package is built.
# The npm cache is a build cache mount, so it never lands in the image.
RUN --mount=type=cache,target=/root/.npm \
    tar -xzf grantkit.tgz --strip-components=1 --no-same-owner && rm grantkit.tgz \
 && node -e 'const fs = require("fs"); const p = JSON.parse(fs.readFileSync("package.json", "utf8")); \
      for (const name of ["pg", "ioredis"]) p.dependencies[name] = p.peerDependencies[name]; \
      delete p.devDependencies; fs.writeFileSync("package.json", JSON.stringify(p, null, 2));' \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund
# Configuration comes from the environment (grantkit help serve): listen on
# every interface inside the container. No GRANTKIT_PORT here, so that a
# platform's PORT is honoured (the default is 4000), and no GRANTKIT_ISSUER,
# which would override the "issuer" of a mounted config file: set it, or the
# file's, to the URL clients use.
ENV GRANTKIT_HOST=0.0.0.0
USER node
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GRANTKIT_PORT || process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1: grantkit serve handles SIGTERM itself (finishes in-flight requests, exits 0).
ENTRYPOINT ["node", "dist/cli/grantkit.js"]
CMD ["serve"]
