# PostgreSQL from Debian's packages, for compose on hosts without an image hub (deploy/compose.debian.yaml builds it
# on the base deploy/base-image.sh makes). It takes the official postgres image's POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB and PGDATA, so compose.yaml's db service runs unchanged on either; PGPORT moves the port and
# POSTGRES_LISTEN (default *) the listen addresses, for host networking.
#   docker build --network host -f deploy/postgres.Dockerfile --build-arg BASE="$(sudo deploy/base-image.sh)" -t monitor-postgres .
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# No cluster from the package: the entrypoint makes one in the volume on first start.
RUN mkdir -p /etc/postgresql-common \
    && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)" /usr/local/lib/postgresql-bin \
    && install -d -o postgres -g postgres -m 2775 /var/run/postgresql \
    && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data
COPY deploy/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/local/lib/postgresql-bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
# SIGINT: PostgreSQL's fast shutdown (what the official image uses too).
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint"]
