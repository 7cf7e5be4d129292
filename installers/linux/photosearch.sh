#!/bin/sh
# /usr/bin/photosearch: the installed app. With no locale at all (a bare environment, some
# launchers) Qt warns on stderr and Python falls back to ASCII: give it a UTF-8 one.
if [ -z "${LC_ALL:-}${LC_CTYPE:-}${LANG:-}" ]; then
    LANG=C.UTF-8
    export LANG
fi
exec /opt/photosearch/photosearch "$@"
