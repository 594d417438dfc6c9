# The kubeferry worker, as docker-compose.yml runs it. No build step: tsx (a runtime dependency) runs
# the TypeScript sources, as `npm run worker` does on the local stack.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY schema ./schema
COPY src ./src
# Files stay root-owned: the worker only reads them, so it cannot rewrite its own code.
USER node
CMD ["node", "--import", "tsx", "src/worker.ts"]
