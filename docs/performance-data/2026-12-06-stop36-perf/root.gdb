set pagination off
set confirm off
handle SIG34 nostop noprint pass
handle SIG35 nostop noprint pass
handle SIG36 nostop noprint pass
handle SIGUSR1 nostop noprint pass
handle SIGPIPE nostop noprint pass
set $root = 0
set $nb = 0
break balance_nonroot
commands
silent
set $root = $r9
set $nb = $nb + 1
continue
end
break pcache1Rekey if $rcx == 262145
commands
silent
printf "SWAP nb=%d cache=%p nPage=%u iMaxKey=%u\n", $nb, $rdi, *(unsigned int*)($rdi+0x38), *(unsigned int*)($rdi+0x2c)
continue
end
break pcache1TruncateUnsafe
commands
silent
printf "TRUNC cache=%p iLimit=%u iMaxKey=%u nHash=%u nPage=%u\n", $rdi, $rsi, *(unsigned int*)($rdi+0x2c), *(unsigned int*)($rdi+0x3c), *(unsigned int*)($rdi+0x38)
continue
end
continue
