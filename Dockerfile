# One image, three roles: `tributary broker`, `tributary operator`, `tributary dev`.
# Not built on the development machines (no Docker engine there); see README "Not exercised".
#
#   docker build -t tributary:dev .
#   docker run --rm -p 9092:9092 -p 9644:9644 tributary:dev broker --advertise localhost:9092

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The `node` dev dependency's install script fetches a Node binary the base image already has.
RUN npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/tributary
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY crds ./crds
RUN ln -s /opt/tributary/dist/cli/main.js /usr/local/bin/tributary \
 && chmod +x dist/cli/main.js \
 && mkdir -p /var/lib/tributary && chown 1000:1000 /var/lib/tributary
USER 1000:1000
# Kafka protocol, admin HTTP (health and metrics).
EXPOSE 9092 9644
ENV TRIBUTARY_LOG_DIRS=/var/lib/tributary/data
ENTRYPOINT ["tributary"]
CMD ["broker"]
