# bash completion for qlaunch (installed as
# $(PREFIX)/share/bash-completion/completions/qlaunch by make install).
# Verbs, options from each verb's --help, running VM names (qlaunch list
# --names), profile names and .ini files, network names, snapshot names.

_qlaunch_verbs="start stop kill pause resume status list cpus stats top console exec qmp snapshot migrate export cmdline doctor forward net bench"

_qlaunch_profiles() {
    local d f dirs=()
    IFS=: read -r -a dirs <<< "${QLAUNCH_PROFILE_PATH:-}"
    dirs+=(profiles)
    for d in "${dirs[@]}"; do
        [ -d "$d" ] || continue
        for f in "$d"/*.ini; do [ -e "$f" ] && basename "$f" .ini; done
    done
}

_qlaunch_networks() {
    local d f dirs=()
    IFS=: read -r -a dirs <<< "${QLAUNCH_PROFILE_PATH:-}"
    dirs+=(profiles)
    for d in "${dirs[@]}"; do
        for f in "$d"/networks/*.ini; do [ -e "$f" ] && basename "$f" .ini; done
    done
}

_qlaunch() {
    local cur=${COMP_WORDS[COMP_CWORD]} verb=${COMP_WORDS[1]:-} words
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$_qlaunch_verbs --help --version" -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        words=$(qlaunch "$verb" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
        mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        return
    fi
    # the position among the non-option arguments after the verb
    local i n=0
    for ((i = 2; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} != -* ]] && n=$((n + 1)); done
    case $verb in
    start | cmdline | bench)
        mapfile -t COMPREPLY < <(compgen -W "$(_qlaunch_profiles)" -- "$cur"; compgen -f -X '!*.ini' -- "$cur"; compgen -d -- "$cur")
        ;;
    export)
        mapfile -t COMPREPLY < <(compgen -W "$(qlaunch list --names 2>/dev/null) $(_qlaunch_profiles)" -- "$cur"; compgen -f -X '!*.ini' -- "$cur")
        ;;
    snapshot | forward)
        if [ $n -eq 0 ]; then
            if [ "$verb" = snapshot ]; then words="save load delete list"; else words="add remove list"; fi
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        elif [ $n -eq 1 ]; then
            mapfile -t COMPREPLY < <(compgen -W "$(qlaunch list --names 2>/dev/null)" -- "$cur")
        elif [ "$verb" = snapshot ] && [ $n -eq 2 ]; then
            local vm=${COMP_WORDS[COMP_CWORD - 1]}
            words=$(qlaunch snapshot list "$vm" 2>/dev/null | awk 'NR > 1 {print $1}')
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        fi
        ;;
    net)
        if [ $n -eq 0 ]; then
            mapfile -t COMPREPLY < <(compgen -W "start stop status list" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$(_qlaunch_networks)" -- "$cur"; compgen -f -X '!*.ini' -- "$cur")
        fi
        ;;
    list | top | doctor) ;;
    *)
        [ $n -eq 0 ] && mapfile -t COMPREPLY < <(compgen -W "$(qlaunch list --names 2>/dev/null)" -- "$cur")
        ;;
    esac
}
complete -F _qlaunch qlaunch
