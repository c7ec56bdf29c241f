# syntax=docker/dockerfile:1
# The production image of the Wiki Education Dashboard, written to the conventions of the
# Dockerfile Rails 8 generates. The deploy builds it from the Dashboard's checkout (the build
# context; its .dockerignore keeps config/application.yml, database.yml, secrets.yml and
# dockerAuth.json out) for production and staging; DASHBOARD_DOCKERFILE names another.
# No secret is built in: the job supplies the config files and SECRET_KEY_BASE when it runs
# (README, "Runtime configuration"). Synth refuses a RUBY_VERSION that differs from the
# checkout's Gemfile or .ruby-version.
ARG RUBY_VERSION=3.4.8
FROM docker.io/library/ruby:${RUBY_VERSION}-slim AS base

# The app at /workspace: where the buildpacks image had it, so the job's paths hold for both.
WORKDIR /workspace

RUN apt-get update -qq && \
    apt-get install --no-install-recommends -y curl default-mysql-client libjemalloc2 libyaml-0-2 pandoc && \
    rm -rf /var/lib/apt/lists /var/cache/apt/archives

ENV RAILS_ENV="production" \
    BUNDLE_DEPLOYMENT="1" \
    BUNDLE_PATH="/usr/local/bundle" \
    BUNDLE_WITHOUT="development:test"

# Throw-away stage: compilers, gems and the JavaScript toolchain never reach the final image.
FROM base AS build

RUN apt-get update -qq && \
    apt-get install --no-install-recommends -y build-essential default-libmysqlclient-dev git libyaml-dev nodejs npm pkg-config && \
    rm -rf /var/lib/apt/lists /var/cache/apt/archives

COPY Gemfile Gemfile.lock ./
RUN bundle install && \
    rm -rf ~/.bundle/ "${BUNDLE_PATH}"/ruby/*/cache "${BUNDLE_PATH}"/ruby/*/bundler/gems/*/.git

COPY package.json yarn.lock ./
RUN npm install --global corepack && corepack enable && yarn install --immutable

COPY . .

# The JavaScript bundles (the Dashboard's own `yarn build`), then the Rails assets, compiled with a
# dummy secret key base and the committed example configs, which are removed again: the image holds
# no configuration of its own.
RUN yarn build
RUN cp config/application.example.yml config/application.yml && \
    cp config/database.example.yml config/database.yml && \
    SECRET_KEY_BASE_DUMMY=1 ./bin/rails assets:precompile && \
    rm -f config/application.yml config/database.yml && \
    rm -rf node_modules tmp/cache

# Final stage: the app and its gems, run as a non-root user.
FROM base
COPY --from=build "${BUNDLE_PATH}" "${BUNDLE_PATH}"
COPY --from=build /workspace /workspace
RUN groupadd --system --gid 1000 rails && \
    useradd rails --uid 1000 --gid 1000 --create-home --shell /bin/bash && \
    mkdir -p log tmp public/system && \
    chown -R rails:rails log tmp public/system
USER 1000:1000

# The job's commands (puma …, sidekiq …) run through bundler, with the app's own gems.
ENTRYPOINT ["bundle", "exec"]
EXPOSE 5000
CMD ["puma", "-b", "tcp://0.0.0.0", "-p", "5000"]
