# Calls lmctl's bash completion as bash would, for tests:
#   . tests/helpers/complete.sh COMPLETION-FILE
#   complete_line "lmctl -s SOCK show hostA/"    prints the candidates, one line
# $LMCTL is the lmctl the completion runs (for --help and list -r).
. "${1:?usage: . complete.sh COMPLETION-FILE}"
complete_line() {
        local line=$1
        read -ra COMP_WORDS <<<"$line"
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMPREPLY=()
        _lmctl "${LMCTL:-lmctl}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        echo "${COMPREPLY[*]}"
}
