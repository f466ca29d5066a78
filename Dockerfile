FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY planner ./planner
COPY constraints ./constraints
COPY api ./api
RUN pip install --no-cache-dir .
EXPOSE 8000
# migrate, then serve (docker-compose passes DATABASE_URL for PostgreSQL); `exec`: the server
# becomes the container's main process and gets `docker stop`'s SIGTERM (dash does not exec the
# last command of an && list by itself, and ignores SIGTERM as PID 1)
CMD ["sh", "-c", "planner db upgrade && exec planner serve --host 0.0.0.0 --port 8000"]
