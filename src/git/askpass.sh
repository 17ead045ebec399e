#!/bin/sh
# GIT_ASKPASS helper: answers git's prompts from the environment, so a token never
# appears in a URL, on a command line or in .git/config.
case "$1" in
  Username*) printf '%s\n' "$LYNQ_GIT_USERNAME" ;;
  *) printf '%s\n' "$LYNQ_GIT_PASSWORD" ;;
esac
