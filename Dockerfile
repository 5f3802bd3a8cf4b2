# syntax=docker/dockerfile:1
# The `nn` command in a small image, for the cluster recipes of docs/SCALE-OUT.md:
#   docker build -t nn:latest .
#   docker run --rm nn:latest grid --help

# Build: the workspace, `nn` alone in release mode (the digits are compiled in).
FROM rust:1.95 AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p nn-cli \
    && install -m 0755 target/release/nn /usr/local/bin/nn \
    && strip /usr/local/bin/nn

# Run: Debian slim has what `nn` links to (libc, libm, libgcc_s); no fonts or
# other system libraries are needed, the figures' font is embedded.
FROM debian:trixie-slim
RUN useradd --create-home --uid 1000 nn
COPY --from=builder /usr/local/bin/nn /usr/local/bin/nn
USER nn
WORKDIR /home/nn
ENTRYPOINT ["nn"]
CMD ["--help"]
