# bash completion for qlaunch (installed as
# $(PREFIX)/share/bash-completion/completions/qlaunch by make install).
# Verbs, options from each verb's --help and their values, running VM
# names (qlaunch list --names), profile names from the binary's own search
# path (qlaunch profiles --names) and .ini files, network names, snapshot
# names. Registered for qlaunch and ./qlaunch; the binary asked is the one
# being completed.

_qlaunch_verbs="start stop kill pause resume status list profiles cpus stats memory top console exec cp disk ssh ssh-config qmp snapshot template delete media display screenshot sendkey migrate export cmdline doctor forward net bench"

_qlaunch_profiles() { "$_qlaunch_bin" profiles --names 2>/dev/null; }

_qlaunch_networks() { "$_qlaunch_bin" net list 2>/dev/null | awk 'NR > 1 {print $1}'; }

_qlaunch() {
    local cur=${COMP_WORDS[COMP_CWORD]} verb=${COMP_WORDS[1]:-} words
    local prev=${COMP_WORDS[COMP_CWORD - 1]:-}
    local _qlaunch_bin=${COMP_WORDS[0]}
    COMPREPLY=()
    case $prev in # option values
    --format) mapfile -t COMPREPLY < <(compgen -W "libvirt proxmox sh" -- "$cur"); return ;;
    --accel) mapfile -t COMPREPLY < <(compgen -W "kvm tcg" -- "$cur"); return ;;
    --tests) mapfile -t COMPREPLY < <(compgen -W "cpu memory threads fileio cpu,memory cpu,memory,threads,fileio" -- "$cur"); return ;;
    --sort) mapfile -t COMPREPLY < <(compgen -W "cpu mem disk name" -- "$cur"); return ;;
    --profile | --scenario | --compare) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    esac
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$_qlaunch_verbs --help --version" -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        words=$("$_qlaunch_bin" "$verb" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
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
        mapfile -t COMPREPLY < <(compgen -W "$("$_qlaunch_bin" list --names 2>/dev/null) $(_qlaunch_profiles)" -- "$cur"; compgen -f -X '!*.ini' -- "$cur")
        ;;
    snapshot | forward)
        if [ $n -eq 0 ]; then
            if [ "$verb" = snapshot ]; then words="save load delete list"; else words="add remove list"; fi
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        elif [ $n -eq 1 ]; then
            mapfile -t COMPREPLY < <(compgen -W "$("$_qlaunch_bin" list --names 2>/dev/null)" -- "$cur")
        elif [ "$verb" = snapshot ] && [ $n -eq 2 ]; then
            local vm=${COMP_WORDS[COMP_CWORD - 1]}
            words=$("$_qlaunch_bin" snapshot list "$vm" 2>/dev/null | awk 'NR > 1 {print $1}')
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        fi
        ;;
    template)
        if [ $n -eq 0 ]; then
            mapfile -t COMPREPLY < <(compgen -W "save list delete" -- "$cur")
        elif [ $n -eq 1 ] && [ "${COMP_WORDS[2]}" = save ]; then
            mapfile -t COMPREPLY < <(compgen -W "$("$_qlaunch_bin" list --names 2>/dev/null)" -- "$cur")
        elif [ $n -eq 1 ] && [ "${COMP_WORDS[2]}" = delete ]; then
            words=$("$_qlaunch_bin" template list 2>/dev/null | awk 'NR > 1 {print $1}')
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        fi
        ;;
    disk)
        if [ $n -eq 0 ]; then
            mapfile -t COMPREPLY < <(compgen -W "resize" -- "$cur")
        elif [ $n -eq 1 ]; then
            mapfile -t COMPREPLY < <(compgen -W "$("$_qlaunch_bin" list --names 2>/dev/null) $(_qlaunch_profiles)" -- "$cur")
        fi
        ;;
    cp) # local files, and VM: for each running VM
        mapfile -t COMPREPLY < <(compgen -f -- "$cur"; compgen -W "$("$_qlaunch_bin" list --names 2>/dev/null | sed 's/$/:/')" -- "$cur")
        ;;
    delete)
        [ $n -eq 0 ] && mapfile -t COMPREPLY < <(compgen -W "$(_qlaunch_profiles)" -- "$cur")
        ;;
    net)
        if [ $n -eq 0 ]; then
            mapfile -t COMPREPLY < <(compgen -W "start stop status list" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$(_qlaunch_networks)" -- "$cur"; compgen -f -X '!*.ini' -- "$cur")
        fi
        ;;
    list | profiles | top | doctor) ;;
    *)
        [ $n -eq 0 ] && mapfile -t COMPREPLY < <(compgen -W "$("$_qlaunch_bin" list --names 2>/dev/null)" -- "$cur")
        ;;
    esac
}
complete -F _qlaunch qlaunch ./qlaunch
