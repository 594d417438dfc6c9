# versitygw (S3 on a posix folder) for docker-compose.yml, built from the Go module like the local stack
# builds it; compose passes the version pinned in scripts/stack/versions.env (the unit test checks it).
FROM golang:1.26 AS build
ARG VERSITYGW_VERSION
RUN test -n "$VERSITYGW_VERSION" && \
    CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" \
      "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
# The posix backend needs both folders; made here so that the named volume starts with them, owned by
# the distroless nonroot user (65532) that runs the gateway.
RUN mkdir -p /data/meta /data/objects

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/versitygw /versitygw
COPY --from=build --chown=65532:65532 /data /data
ENTRYPOINT ["/versitygw"]
