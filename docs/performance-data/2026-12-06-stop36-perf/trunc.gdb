set pagination off
set confirm off
handle SIG34 nostop noprint pass
handle SIG35 nostop noprint pass
handle SIG36 nostop noprint pass
handle SIGUSR1 nostop noprint pass
handle SIGPIPE nostop noprint pass
break pcache1TruncateUnsafe
commands
silent
printf "TRUNC iLimit=%u iMaxKey=%u nHash=%u nPage=%u\n", $rsi, *(unsigned int*)($rdi+0x2c), *(unsigned int*)($rdi+0x3c), *(unsigned int*)($rdi+0x38)
continue
end
continue
