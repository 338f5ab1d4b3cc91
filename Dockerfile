# syntax=docker/dockerfile:1
# Registrar as a container: the same production bundle App Service runs (npm run bundle), for hosts that run
# images (Azure Container Apps, AKS, App Service for containers). Configuration comes from the environment only
# (README, "Configuration"); the image holds no settings and no secrets.

# 1. Compile the production TypeScript project with every dependency.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.production.json ./
COPY src ./src
COPY adaptiveCards ./adaptiveCards
# The production project only (what npm run bundle ships): not the local tenant, local mode's launchers or tools.
RUN npx tsc -b tsconfig.production.json

# 2. Production dependencies only, installed apart from the build so no development package reaches the image.
FROM node:22-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. The runtime: compiled code, production node_modules, an unprivileged user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    PORT=3978
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/adaptiveCards ./dist/adaptiveCards
COPY package.json ./
# The node image's own unprivileged user (uid 1000); the code is owned by root and read-only to it.
USER node
EXPOSE 3978
# /healthz answers 200 while the process serves; /readyz (storage reachable) is for the orchestrator's readiness probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3978) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/index.js"]
