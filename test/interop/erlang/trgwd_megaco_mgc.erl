%% A real H.248 controller built on Erlang/OTP megaco, driving trgwd (test/interop/megaco-erlang.test.ts).
%%
%%   erl -noshell -pa DIR -run trgwd_megaco_mgc main udp|tcp pretty|compact VERSION PORT
%%
%% Listens on PORT (megaco_udp or megaco_tcp, the text codec asked), accepts the gateway's
%% registration (ServiceChange on ROOT, answered with Version = min(offer, VERSION): H.248.1 §11.3),
%% then drives it through megaco:call/3: Add of two terminations with `$` Local in Context $ (realms
%% access and core), Modify of each with a Remote, AuditValue (Media, Statistics), Subtract *.
%% Prints JSON lines on stdout: {"event":"listening",...}, then one {"result":...} line; exits 0.
%%
%% Request and reply records are not built by hand (the megaco .hrl files are not installed with
%% erlang-megaco): each request is written as H.248 text and decoded by megaco's own text decoder for
%% the connection's version, so the records always match that version; replies are inspected
%% generically (error descriptors, termination ids, SDP lines found anywhere in the term).
-module(trgwd_megaco_mgc).
-behaviour(megaco_user).

-export([main/1]).
-export([handle_connect/3, handle_disconnect/4, handle_syntax_error/4, handle_message_error/4,
         handle_trans_request/4, handle_trans_long_request/4, handle_trans_reply/5,
         handle_trans_ack/5, handle_unexpected_trans/4, handle_trans_request_abort/5,
         handle_segment_reply/6]).

-define(REGISTER_TIMEOUT, 20000).

main([TransportS, CodecS, VersionS, PortS]) ->
    Transport = list_to_atom(TransportS),
    Codec = list_to_atom(CodecS),
    MaxVersion = list_to_integer(VersionS),
    Port = list_to_integer(PortS),
    Result = try run(Transport, Codec, MaxVersion, Port)
             catch Class:Reason:Stack ->
                     #{ok => false,
                       error => iolist_to_binary(io_lib:format("~p:~p ~p", [Class, Reason, hd(Stack ++ [none])]))}
             end,
    out(#{result => Result#{transport => list_to_binary(TransportS), codec => list_to_binary(CodecS)}}),
    erlang:halt(0).

run(Transport, Codec, MaxVersion, Port) ->
    ok = megaco:start(),
    Mid = {ip4Address, {'IP4Address', [127, 0, 0, 1], Port}},
    persistent_term:put({?MODULE, config}, #{max_version => MaxVersion, codec => Codec, mid => Mid, port => Port}),
    ok = megaco:start_user(Mid, [{user_mod, ?MODULE}, {user_args, [self()]}, {protocol_version, MaxVersion}]),
    EncMod = case Codec of
                 pretty -> megaco_pretty_text_encoder;
                 compact -> megaco_compact_text_encoder
             end,
    SendMod = case Transport of
                  udp -> megaco_udp;
                  tcp -> megaco_tcp
              end,
    %% #megaco_receive_handle{local_mid, encoding_mod, encoding_config, send_mod, protocol_version}
    RH0 = megaco:user_info(Mid, receive_handle),
    RH = setelement(5, setelement(4, setelement(3, RH0, EncMod), []), SendMod),
    ok = open_transport(Transport, Port, RH),
    out(#{event => listening, port => Port}),
    receive
        {registered, CH, PV, Offered, Method} ->
            %% The SC reply is sent by megaco after handle_trans_request returns; megaco gives the
            %% user no event for "reply sent", so leave it a moment to leave before our first
            %% request (otherwise the gateway could see the Add first and answer 505).
            timer:sleep(100),
            Steps = drive(CH, PV),
            Ok = lists:all(fun(S) -> maps:get(ok, S) end, Steps),
            #{ok => Ok, version => PV, offered => Offered, method => Method, steps => Steps}
    after ?REGISTER_TIMEOUT ->
            #{ok => false, error => <<"the gateway did not register">>}
    end.

open_transport(udp, Port, RH) ->
    {ok, Sup} = megaco_udp:start_transport(),
    {ok, _SendHandle, _ControlPid} = megaco_udp:open(Sup, [{port, Port}, {receive_handle, RH}]),
    ok;
open_transport(tcp, Port, RH) ->
    {ok, Sup} = megaco_tcp:start_transport(),
    ok = megaco_tcp:listen(Sup, [{port, Port}, {receive_handle, RH}]).

%% ---------------------------------------------------------------------------------------------
%% The call flow

drive(CH, PV) ->
    Add = call(CH, PV, add,
               "Context = $ {\n"
               "  Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = access },\n"
               "    Local {\nv=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n} } } },\n"
               "  Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = core },\n"
               "    Local {\nv=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n} } } }\n"
               "}"),
    case Add of
        #{ok := true, reply := Replies} ->
            Ctx = context_of(Replies),
            Terms = [T || T <- term_ids(Replies), T =/= "$"],
            Ports = [P || P <- sdp_ports(Replies)],
            Addrs = sdp_addresses(Replies),
            AddOk = is_integer(Ctx) andalso Ctx > 0 andalso length(Terms) =:= 2 andalso length(Ports) =:= 2
                andalso lists:all(fun(P) -> is_integer(P) andalso P > 0 end, Ports)
                andalso lists:all(fun(A) -> A =/= "$" end, Addrs) andalso length(Addrs) >= 1,
            AddStep = #{step => add, ok => AddOk, context => Ctx, terminations => [list_to_binary(T) || T <- Terms],
                        ports => Ports, addresses => [list_to_binary(A) || A <- Addrs]},
            case AddOk of
                false -> [AddStep#{detail => show(Replies)}];
                true ->
                    [T1, T2] = Terms,
                    C = integer_to_list(Ctx),
                    Modify = call(CH, PV, modify,
                                  "Context = " ++ C ++ " {\n"
                                  "  Modify = " ++ T1 ++ " { Media { Stream = 1 { LocalControl { Mode = SendReceive },\n"
                                  "    Remote {\nv=0\nc=IN IP4 127.0.0.1\nm=audio 40000 RTP/AVP 0\n} } } },\n"
                                  "  Modify = " ++ T2 ++ " { Media { Stream = 1 { LocalControl { Mode = SendReceive },\n"
                                  "    Remote {\nv=0\nc=IN IP4 127.0.0.1\nm=audio 40002 RTP/AVP 0\n} } } }\n"
                                  "}"),
                    Audit = call(CH, PV, audit_value,
                                 "Context = " ++ C ++ " { AuditValue = " ++ T1 ++ " { Audit { Media, Statistics } } }"),
                    AuditStats = case Audit of
                                     #{reply := AR} -> [list_to_binary(N) || N <- stat_names(AR)];
                                     _ -> []
                                 end,
                    Subtract = call(CH, PV, subtract, "Context = " ++ C ++ " { Subtract = * }"),
                    SubtractTerms = case Subtract of
                                        #{reply := SR} -> [list_to_binary(T) || T <- term_ids(SR)];
                                        _ -> []
                                    end,
                    [AddStep,
                     summary(Modify),
                     (summary(Audit))#{statistics => AuditStats},
                     (summary(Subtract))#{terminations => SubtractTerms}]
            end;
        _ ->
            [summary(Add)]
    end.

%% One transaction through megaco:call/3 (encoded by megaco with the connection's codec).
call(CH, PV, Step, ActionsText) ->
    #{mid := Mid} = persistent_term:get({?MODULE, config}),
    Text = iolist_to_binary(["MEGACO/", integer_to_list(PV), " ", mid_text(Mid), "\n",
                             "Transaction = 1 {\n", ActionsText, "\n}\n"]),
    {ok, Msg} = megaco_pretty_text_encoder:decode_message([], dynamic, Text),
    {transactions, [{transactionRequest, TR}]} = element(4, element(3, Msg)),
    Actions = element(3, TR),
    case megaco:call(CH, Actions, []) of
        {_PV, {ok, Replies}} ->
            Errors = errors(Replies),
            #{step => Step, ok => Errors =:= [], reply => Replies, errors => Errors};
        {_PV, {error, Reason}} ->
            #{step => Step, ok => false, errors => errors(Reason), detail => show(Reason)};
        Other ->
            #{step => Step, ok => false, detail => show(Other)}
    end.

summary(#{step := Step, ok := Ok} = R) ->
    Base = #{step => Step, ok => Ok, errors => [#{code => C, text => list_to_binary(T)} || {C, T} <- maps:get(errors, R, [])]},
    case Ok of
        true -> Base;
        false -> Base#{detail => maps:get(detail, R, show(maps:get(reply, R, none)))}
    end.

mid_text({ip4Address, {'IP4Address', [A, B, C, D], Port}}) ->
    io_lib:format("[~b.~b.~b.~b]:~b", [A, B, C, D, Port]).

%% ---------------------------------------------------------------------------------------------
%% Generic inspection of reply terms (records of any protocol version)

context_of([AR | _]) when element(1, AR) =:= 'ActionReply' -> element(2, AR);
context_of(_) -> undefined.

errors(Term) -> lists:reverse(collect(Term, fun({'ErrorDescriptor', Code, Text}) -> {true, {Code, text(Text)}}; (_) -> false end, [])).

term_ids(Term) ->
    Ids = lists:reverse(collect(Term, fun({megaco_term_id, _, Path}) when is_list(Path) -> {true, string:join(Path, "/")}; (_) -> false end, [])),
    dedup(Ids).

sdp_ports(Term) ->
    [port_of(V) || V <- sdp_values(Term, "m")].

sdp_addresses(Term) ->
    [lists:last(string:tokens(V, " ")) || V <- sdp_values(Term, "c")].

sdp_values(Term, Letter) ->
    lists:reverse(collect(Term, fun({'PropertyParm', L, [V | _], _}) when L =:= Letter -> {true, V}; (_) -> false end, [])).

stat_names(Term) ->
    lists:reverse(collect(Term, fun({'StatisticsParameter', N, _}) -> {true, N}; (_) -> false end, [])).

port_of(MLine) ->
    case string:tokens(MLine, " ") of
        [_Media, P | _] -> try list_to_integer(P) catch _:_ -> P end;
        _ -> undefined
    end.

collect(Term, F, Acc) ->
    Acc1 = case F(Term) of
               {true, V} -> [V | Acc];
               false -> Acc
           end,
    if
        is_tuple(Term) -> lists:foldl(fun(E, A) -> collect(E, F, A) end, Acc1, tuple_to_list(Term));
        is_list(Term) -> lists:foldl(fun(E, A) -> collect(E, F, A) end, Acc1, Term);
        true -> Acc1
    end.

dedup(L) -> dedup(L, []).
dedup([], Acc) -> lists:reverse(Acc);
dedup([H | T], Acc) ->
    case lists:member(H, Acc) of
        true -> dedup(T, Acc);
        false -> dedup(T, [H | Acc])
    end.

text(asn1_NOVALUE) -> "";
text(T) when is_list(T) -> T;
text(T) -> io_lib:format("~p", [T]).

show(Term) -> iolist_to_binary(io_lib:format("~0p", [Term])).

%% ---------------------------------------------------------------------------------------------
%% megaco_user callbacks (user_args = [Driver])

handle_connect(_CH, _PV, _Driver) -> ok.

handle_disconnect(CH, _PV, Reason, _Driver) ->
    megaco:cancel(CH, Reason),
    ok.

handle_syntax_error(_RH, _PV, _ED, _Driver) -> reply.

handle_message_error(_CH, _PV, _ED, _Driver) -> no_reply.

%% The gateway's registration: ServiceChange on ROOT in Context -. The reply is also written as
%% text and decoded for the connection's version.
handle_trans_request(CH, PV, [AR], Driver) ->
    %% #'ServiceChangeParm'{serviceChangeMethod, serviceChangeAddress, serviceChangeVersion, ...}:
    %% the same first fields in every version (v2 and v3 append fields).
    case collect(AR, fun(T) when is_tuple(T), tuple_size(T) >= 4, element(1, T) =:= 'ServiceChangeParm' -> {true, {element(2, T), element(4, T)}};
                        (_) -> false end, []) of
        [{Method, Offered}] ->
            #{max_version := Max, mid := Mid} = persistent_term:get({?MODULE, config}),
            Agreed = case Offered of
                         asn1_NOVALUE -> min(PV, Max);
                         _ -> min(Offered, Max)
                     end,
            Text = iolist_to_binary(["MEGACO/", integer_to_list(PV), " ", mid_text(Mid), "\n",
                                     "Reply = 1 { Context = - { ServiceChange = ROOT { Services { Version = ",
                                     integer_to_list(Agreed), " } } } }\n"]),
            {ok, Msg} = megaco_pretty_text_encoder:decode_message([], dynamic, Text),
            {transactions, [{transactionReply, TR}]} = element(4, element(3, Msg)),
            {actionReplies, Replies} = element(4, TR),
            Driver ! {registered, CH, Agreed, offered(Offered), Method},
            {discard_ack, Replies};
        _ ->
            %% Anything else (e.g. a Notify): acknowledge it with an empty reply of the same context.
            {discard_ack, [{'ActionReply', element(2, AR), asn1_NOVALUE, asn1_NOVALUE, []}]}
    end;
handle_trans_request(_CH, _PV, _ARs, _Driver) ->
    {discard_ack, {'ErrorDescriptor', 501, "Not Implemented"}}.

offered(asn1_NOVALUE) -> null;
offered(V) -> V.

handle_trans_long_request(_CH, _PV, _ReqData, _Driver) ->
    {discard_ack, {'ErrorDescriptor', 501, "Not Implemented"}}.

handle_trans_reply(_CH, _PV, _Reply, _ReplyData, _Driver) -> ok.

handle_trans_ack(_CH, _PV, _AckStatus, _AckData, _Driver) -> ok.

handle_unexpected_trans(_CH, _PV, _Trans, _Driver) -> ok.

handle_trans_request_abort(_CH, _PV, _TransId, _Pid, _Driver) -> ok.

handle_segment_reply(_CH, _PV, _TransId, _SegNo, _SegCompl, _Driver) -> ok.

%% ---------------------------------------------------------------------------------------------
%% JSON lines (OTP 25 has no json module)

out(Term) ->
    io:put_chars([json(Term), $\n]).

json(M) when is_map(M) ->
    Pairs = [[json(key(K)), $:, json(V)] || {K, V} <- lists:sort(maps:to_list(M))],
    [${, lists:join($,, Pairs), $}];
json(L) when is_list(L) -> [$[, lists:join($,, [json(E) || E <- L]), $]];
json(true) -> <<"true">>;
json(false) -> <<"false">>;
json(null) -> <<"null">>;
json(undefined) -> <<"null">>;
json(A) when is_atom(A) -> json(atom_to_binary(A, utf8));
json(I) when is_integer(I) -> integer_to_binary(I);
json({C, T}) when is_integer(C) -> json(#{code => C, text => iolist_to_binary(T)});
json(B) when is_binary(B) -> [$", escape(B), $"];
json(T) -> json(show(T)).

key(K) when is_atom(K) -> atom_to_binary(K, utf8);
key(K) -> K.

escape(B) ->
    [case C of
         $" -> <<"\\\"">>;
         $\\ -> <<"\\\\">>;
         $\n -> <<"\\n">>;
         $\r -> <<"\\r">>;
         $\t -> <<"\\t">>;
         _ when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
         _ -> <<C/utf8>>
     end || <<C/utf8>> <= B].
