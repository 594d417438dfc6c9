# The kubeferry worker, as docker-compose.yml runs it. tsx (a runtime dependency) runs the TypeScript
# sources, as `npm run worker` does on the local stack; the workflow code is bundled here, at build
# time, so the running worker does not carry webpack (a few hundred MB; see docs/performance.md).
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY schema ./schema
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/
RUN node --import tsx scripts/bundle-workflows.ts build/workflow-bundle.js
ENV KUBEFERRY_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js
# Files stay root-owned: the worker only reads them, so it cannot rewrite its own code.
USER node
CMD ["node", "--import", "tsx", "src/worker.ts"]
