# Static analysis: cppcheck must find nothing in the sources and tests.
set -eu
command -v cppcheck > /dev/null || { echo "cppcheck is not installed (make deps installs it)"; exit 1; }
cppcheck --enable=warning,style,performance,portability --std=c11 --error-exitcode=1 \
    --suppress=missingIncludeSystem --inline-suppr --quiet \
    -Iinclude -Ibuild -Itests/unit src tests/unit tests/fuzz
echo "cppcheck: clean"
