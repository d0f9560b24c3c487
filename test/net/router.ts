/**
 * A home router's firewall: source NAT out of the WAN port plus a stateful filter, so that, as at a real
 * home, nothing reaches the LAN that the LAN did not ask for.
 */

/**
 * 'symmetric': every new flow gets a random WAN port (`fully-random`), so the port a peer learns from
 * one server is useless for another peer and hole punching fails. 'cone': plain masquerade, which keeps
 * the LAN source port when it is free, so one local port maps to one WAN port whoever it talks to.
 */
export type NatKind = 'symmetric' | 'cone';

/**
 * LAN to LAN is accepted too: where br_netfilter is loaded (as here), frames switched between two ports
 * of a LAN bridge pass this forward hook, seen as from and to the bridge, and would be dropped.
 */
export function routerRuleset(nat: NatKind, wan: string, lan: string): string {
  const masquerade = nat === 'symmetric' ? 'masquerade fully-random' : 'masquerade';
  return `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${wan}" ${masquerade}
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "${lan}" oifname "${wan}" accept
    iifname "${lan}" oifname "${lan}" accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${wan}" ct state established,related accept
    iifname "${wan}" drop
  }
}
`;
}
