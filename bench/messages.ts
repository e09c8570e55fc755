/**
 * The H.248 messages bench/codec.ts measures (ours and Erlang/OTP megaco decode the same texts):
 * (a) MG registration, (b) Add of two terminations with SDP, (c) Subtract reply with statistics,
 * (d) one message with 20 transactions. All are valid for Erlang/OTP megaco 4.4.2 too.
 */
const REGISTRATION = `MEGACO/3 [192.0.2.10]:2944
Transaction = 1 {
  Context = - {
    ServiceChange = ROOT {
      Services {
        Method = Restart,
        Reason = "901 Cold Boot",
        Version = 3,
        Profile = ResGW/1
      }
    }
  }
}
`;

const ADD_TWO_TERMS_SDP = `MEGACO/3 [192.0.2.1]:2944
Transaction = 4711 {
  Context = $ {
    Add = $ {
      Media {
        Stream = 1 {
          LocalControl { Mode = SendReceive, ipdc/realm = "access", ds/dscp = 2e, tman/pol = on, tman/sdr = 5000, tman/mbs = 2000 },
          Local {
v=0
c=IN IP4 $
m=audio $ RTP/SAVP 96 100
a=rtpmap:96 AMR-WB/16000
a=rtpmap:100 telephone-event/16000
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$
          },
          Remote {
v=0
o=- 2890844526 2890842807 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 49170 RTP/SAVP 96 100
a=rtpmap:96 AMR-WB/16000
a=rtpmap:100 telephone-event/16000
a=ptime:20
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR
          }
        }
      },
      Events = 100 { g/cause, nt/netfail }
    },
    Add = $ {
      Media {
        Stream = 1 {
          LocalControl { Mode = SendReceive, ipdc/realm = "core" },
          Local {
v=0
c=IN IP4 $
m=audio $ RTP/AVP 96 100
a=rtpmap:96 AMR-WB/16000
a=rtpmap:100 telephone-event/16000
          }
        }
      },
      Events = 101 { g/cause, nt/netfail }
    }
  }
}
`;

const SUBTRACT_REPLY_STATS = `MEGACO/3 [192.0.2.10]:2944
Reply = 50009 {
  Context = 5000 {
    Subtract = ip/5000/access/1 {
      Statistics {
        nt/os = 45123,
        nt/or = 40960,
        nt/dur = 40000,
        rtp/ps = 1245,
        rtp/pr = 780,
        rtp/pl = 10,
        rtp/jit = 27,
        rtp/delay = 48
      }
    },
    Subtract = ip/5000/core/2 {
      Statistics {
        nt/os = 62345,
        nt/or = 45123,
        nt/dur = 40000,
        rtp/ps = 1247,
        rtp/pr = 779,
        rtp/pl = 0,
        rtp/jit = 12,
        rtp/delay = 31
      }
    }
  }
}
`;

export function twentyTransactions(): string {
  const parts: string[] = ['MEGACO/3 [192.0.2.1]:2944\n'];
  for (let i = 0; i < 20; i++) {
    const tid = 2000 + i;
    const ctx = 300 + i;
    if (i % 2 === 0) {
      parts.push(`Transaction = ${tid} {
  Context = ${ctx} {
    Modify = ip/${ctx}/core/2 {
      Media {
        Stream = 1 {
          LocalControl { Mode = SendReceive },
          Remote {
v=0
c=IN IP4 10.20.${i}.40
m=audio ${50000 + 2 * i} RTP/AVP 8 101
a=rtpmap:101 telephone-event/8000
a=ptime:20
          }
        }
      },
      Events = ${900 + i} { g/cause, nt/netfail }
    }
  }
}
`);
    } else {
      parts.push(`Transaction = ${tid} {
  Context = ${ctx} {
    Notify = ip/${ctx}/access/1 {
      ObservedEvents = ${900 + i} {
        20240517T103020${String(i).padStart(2, '0')}:g/cause { Generalcause = NR, Failurecause = "bearer released" }
      }
    }
  }
}
`);
    }
  }
  return parts.join('');
}

export const CASES: { name: string; text: string }[] = [
  { name: 'a_registration', text: REGISTRATION },
  { name: 'b_add_two_terms_sdp', text: ADD_TWO_TERMS_SDP },
  { name: 'c_subtract_reply_stats', text: SUBTRACT_REPLY_STATS },
  { name: 'd_20_transactions', text: twentyTransactions() },
];
