set pagination off
set confirm off
handle SIG34 nostop noprint pass
handle SIG35 nostop noprint pass
handle SIG36 nostop noprint pass
handle SIGUSR1 nostop noprint pass
handle SIGPIPE nostop noprint pass
break pcache1FetchStage2 if $rsi == 262145
commands
silent
printf "FETCH key=%u create=%d\n", $rsi, $rdx
bt 25
continue
end
break pcache1Rekey if $rcx == 262145
commands
silent
printf "REKEY old=%u new=%u\n", $rdx, $rcx
bt 25
continue
end
continue
