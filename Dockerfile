# The mock-rest-api container image: the static (musl) server binary and nothing else.
#
# `bash scripts/docker.sh build` builds the binary and then this image, from a folder that holds only
# the binary (so the build context is one file):
#
#   cargo build --release --locked -p mock-rest-api --target x86_64-unknown-linux-musl
#   mkdir ctx && cp target/x86_64-unknown-linux-musl/release/mock-rest-api ctx/
#   docker build -t mock-rest-api -f Dockerfile ctx
#
# Run it: docker run --rm -p 5000:5000 mock-rest-api   (settings as environment variables: -e API_TOKEN=...)
FROM scratch
COPY mock-rest-api /mock-rest-api
# No shell, no libc, no users file: a numeric user that owns nothing (nobody:nogroup).
USER 65534:65534
# The server listens on PORT (every interface, as a container must, with JSON_SERVER=1 too, which
# otherwise binds 127.0.0.1); 5000 as Elastic Beanstalk expects.
ENV HOST=0.0.0.0
ENV PORT=5000
EXPOSE 5000
# The binary itself asks the server for /health: 200 with "status":"pass", or unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=1s --retries=3 CMD ["/mock-rest-api", "--healthcheck"]
ENTRYPOINT ["/mock-rest-api"]
