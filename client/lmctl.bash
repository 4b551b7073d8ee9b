# bash completion for lmctl.
#
# Verbs; each verb's options, read from `lmctl VERB --help` so that they
# never drift from the program; and container names from the live daemon
# (`lmctl list -r`, on the socket the line names), or silently nothing when
# no daemon answers within two seconds. After `--`, run and exec complete a
# command line.

_lmctl_verbs="create update destroy list show ps enter pause resume kill reclaim detect stats top events run exec spec version"

# The verbs whose first argument is a container's name.
_lmctl_named="create update destroy list show ps enter pause resume kill reclaim stats top events run exec"

_lmctl() {
        local cmd=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        local i verb= vi=0 help opts argopts npos=0 w
        local -a global=()

        COMPREPLY=()
        # The global options, then the verb.
        for ((i = 1; i < COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                case $w in
                -s | --socket)
                        global+=(--socket "${COMP_WORDS[i + 1]}")
                        ((i++))
                        ;;
                --socket=*) global+=("$w") ;;
                -*) ;;
                *)
                        verb=$w
                        vi=$i
                        break
                        ;;
                esac
        done
        if [[ -z $verb ]]; then
                case $prev in
                -s | --socket)
                        COMPREPLY=($(compgen -f -- "$cur"))
                        return
                        ;;
                esac
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--socket --json --help" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$_lmctl_verbs" -- "$cur"))
                fi
                return
        fi
        # run and exec: after --, a command line of its own.
        for ((i = vi + 1; i < COMP_CWORD; i++)); do
                if [[ ${COMP_WORDS[i]} == -- ]]; then
                        if declare -F _command_offset >/dev/null; then
                                _command_offset $((i + 1))
                        else
                                COMPREPLY=($(compgen -c -- "$cur" | sort -u))
                        fi
                        return
                fi
        done
        # The verb's options, and those that take a value (an option followed
        # by an upper-case word in its help: --owner UID, -s SIG, --cpu N).
        help=$("$cmd" "$verb" --help 2>&1)
        opts=$(grep -oE -- '(^|[][ |])--?[a-zA-Z][a-zA-Z-]*' <<<"$help" | sed 's/^[][ |]//' | sort -u)
        argopts=" $(grep -oE -- '(^|[][ |])--?[a-zA-Z][a-zA-Z-]* [A-Z]' <<<"$help" | sed 's/^[][ |]//; s/ [A-Z]$//' | tr '\n' ' ') "
        case $prev in
        --rootfs | --bundle | --cwd)
                COMPREPLY=($(compgen -d -- "$cur"))
                return
                ;;
        -o | --order)
                if [[ $verb == top ]]; then
                        COMPREPLY=($(compgen -W "cpu memory pids read write throttled psi-cpu psi-memory psi-io name" -- "$cur"))
                        return
                fi
                ;;
        -s | --signal)
                if [[ $verb == kill ]]; then
                        COMPREPLY=($(compgen -W "KILL TERM INT HUP QUIT USR1 USR2 STOP CONT" -- "${cur^^}"))
                        return
                fi
                ;;
        esac
        # A value is not completed.
        [[ $prev == -* && $argopts == *" $prev "* ]] && return
        if [[ $cur == -* ]]; then
                [[ $verb == top || $verb == spec ]] || opts+=" --json"
                COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
                return
        fi
        # Which argument this is, options and their values aside.
        for ((i = vi + 1; i < COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                if [[ $w == -* ]]; then
                        [[ $argopts == *" $w "* ]] && ((i++))
                else
                        ((npos++))
                fi
        done
        case $verb in
        spec)
                COMPREPLY=($(compgen -d -- "$cur"))
                ;;
        detect)
                [[ $npos == 0 ]] && COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur"))
                ;;
        enter)
                if [[ $npos == 0 ]]; then
                        COMPREPLY=($(compgen -W "$(timeout 2 "$cmd" "${global[@]}" list -r 2>/dev/null)" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur"))
                fi
                ;;
        *)
                if [[ $npos == 0 && " $_lmctl_named " == *" $verb "* ]]; then
                        COMPREPLY=($(compgen -W "$(timeout 2 "$cmd" "${global[@]}" list -r 2>/dev/null)" -- "$cur"))
                fi
                ;;
        esac
}

complete -F _lmctl lmctl
