#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noshell
%%
%% Reference figures for bench/codec.ts: Erlang/OTP megaco's text codecs decoding and encoding the
%% same H.248 message texts as our codec. Prints one JSON object per line:
%%
%%   {"impl":"erlang-megaco","case":NAME,"op":"decode","codec":"compact_text","scanner":"erl"|"flex",...}
%%   {"impl":"erlang-megaco","case":NAME,"op":"encode","codec":"compact_text"|"pretty_text",...}
%%
%% with "ops", "seconds", "ops_per_s", "bytes" (input bytes for decode, output bytes for encode) and
%% "mb_per_s" (10^6 bytes/s). A case that the codec rejects prints {"case":NAME,"error":...}.
%%
%% Usage: escript megaco_codec_bench.escript [--time-ms 1000] [--warmup-ms 300] NAME=FILE ...
%%        escript megaco_codec_bench.escript --check FILE ...   (decode each, print ok/error)
%%        escript megaco_codec_bench.escript --same A B [A B ...]
%%            (decode A and B, print "same A B" when Erlang decodes both to the same term, else
%%             "differ A B <where>" or "error A|B <reason>"; one line per pair). The order of
%%             descriptors inside a command or command reply carries no meaning in H.248.1 (each
%%             appears at most once), so lists of {xxxDescriptor(s), _} are compared sorted.
%%
%% Decoding uses megaco_compact_text_encoder:decode_message(Config, dynamic, Bin) (the text decoders
%% accept both pretty and compact text), Config [] (Erlang scanner) and [{flex, Port}] (the flex
%% scanner linked-in driver, when megaco_flex_scanner:start() works on this build). Encoding uses
%% encode_message([], Version, Msg) of megaco_compact_text_encoder and megaco_pretty_text_encoder on
%% the decoded message.
-mode(compile).

main(Args) ->
    {Opts, Rest} = opts(Args, #{time_ms => 1000, warmup_ms => 300, check => false, same => false}, []),
    {ok, _} = application:ensure_all_started(megaco),
    Vsn = case application:get_key(megaco, vsn) of {ok, V} -> V; _ -> "unknown" end,
    Otp = erlang:system_info(otp_release),
    case {maps:get(check, Opts), maps:get(same, Opts)} of
        {true, _} -> lists:foreach(fun check/1, Rest);
        {_, true} -> same_pairs(Rest);
        _ ->
            Flex = flex_config(),
            Cases = [parse_case(C) || C <- Rest],
            Common = [{"impl", "erlang-megaco"}, {"megaco", Vsn}, {"otp", Otp}],
            case Flex of
                {error, Why} -> line(Common ++ [{"scanner", "flex"}, {"skipped", true},
                                                {"reason", io_lib:format("~p", [Why])}]);
                _ -> ok
            end,
            lists:foreach(fun({Name, Bin}) -> bench_case(Opts, Common, Flex, Name, Bin) end, Cases)
    end.

opts(["--time-ms", N | T], O, Acc) -> opts(T, O#{time_ms => list_to_integer(N)}, Acc);
opts(["--warmup-ms", N | T], O, Acc) -> opts(T, O#{warmup_ms => list_to_integer(N)}, Acc);
opts(["--check" | T], O, Acc) -> opts(T, O#{check => true}, Acc);
opts(["--same" | T], O, Acc) -> opts(T, O#{same => true}, Acc);
opts([A | T], O, Acc) -> opts(T, O, [A | Acc]);
opts([], O, Acc) -> {O, lists:reverse(Acc)}.

parse_case(Arg) ->
    case string:split(Arg, "=") of
        [Name, File] ->
            {ok, Bin} = file:read_file(File),
            {Name, Bin};
        _ -> erlang:error({bad_case_argument, Arg})
    end.

flex_config() ->
    try megaco_flex_scanner:start() of
        {ok, PortOrPorts} -> [{flex, PortOrPorts}];
        Other -> {error, Other}
    catch C:E -> {error, {C, E}}
    end.

check(File) ->
    {ok, Bin} = file:read_file(File),
    case catch megaco_compact_text_encoder:decode_message([], dynamic, Bin) of
        {ok, _} -> io:format("ok ~s~n", [File]);
        Err -> io:format("error ~s ~s~n", [File, short(Err)])
    end.

same_pairs([A, B | T]) ->
    case {decode_file(A), decode_file(B)} of
        {{ok, MA}, {ok, MB}} ->
            NA = canon(MA),
            NB = canon(MB),
            case NA =:= NB of
                true -> io:format("same ~s ~s~n", [A, B]);
                false -> io:format("differ ~s ~s ~s~n", [A, B, diff(NA, NB, [])])
            end;
        {{ok, _}, Err} -> io:format("error ~s ~s~n", [B, short(Err)]);
        {Err, _} -> io:format("error ~s ~s~n", [A, short(Err)])
    end,
    same_pairs(T);
same_pairs(_) -> ok.

decode_file(F) ->
    {ok, Bin} = file:read_file(F),
    case catch megaco_compact_text_encoder:decode_message([], dynamic, Bin) of
        {ok, M} -> {ok, M};
        Err -> Err
    end.

%% Sorts lists of descriptors ({fooDescriptor, _} / {emptyDescriptors, _}), recursively.
canon(T) when is_tuple(T) -> list_to_tuple([canon(E) || E <- tuple_to_list(T)]);
canon(L) when is_list(L) ->
    C = [canon(E) || E <- L],
    case L =/= [] andalso lists:all(fun is_descriptor/1, L) of
        true -> lists:sort(C);
        false -> C
    end;
canon(X) -> X.

is_descriptor({Tag, _}) when is_atom(Tag) ->
    S = atom_to_list(Tag),
    lists:suffix("Descriptor", S) orelse lists:suffix("Descriptors", S);
is_descriptor(_) -> false.

%% Where two terms first differ: a path of tuple/list positions and the two subterms.
diff(A, B, Path) when is_tuple(A), is_tuple(B), tuple_size(A) =:= tuple_size(B) ->
    diff_list(tuple_to_list(A), tuple_to_list(B), Path, 1);
diff(A, B, Path) when is_list(A), is_list(B), length(A) =:= length(B) ->
    diff_list(A, B, Path, 1);
diff(A, B, Path) ->
    lists:flatten(io_lib:format("at ~w: ~0P =/= ~0P", [lists:reverse(Path), A, 8, B, 8])).

diff_list([X | Xs], [Y | Ys], Path, N) when X =:= Y -> diff_list(Xs, Ys, Path, N + 1);
diff_list([X | _], [Y | _], Path, N) -> diff(X, Y, [N | Path]);
diff_list([], [], Path, _) -> lists:flatten(io_lib:format("at ~w: equal", [lists:reverse(Path)])).

bench_case(Opts, Common, Flex, Name, Bin) ->
    Base = Common ++ [{"case", Name}],
    case catch megaco_compact_text_encoder:decode_message([], dynamic, Bin) of
        {ok, Msg} ->
            Version = element(2, element(3, Msg)),
            Decoders = [{"erl", []}] ++ case Flex of {error, _} -> []; FlexConf -> [{"flex", FlexConf}] end,
            lists:foreach(
              fun({Scanner, Conf}) ->
                      F = fun() -> {ok, _} = megaco_compact_text_encoder:decode_message(Conf, dynamic, Bin) end,
                      report(Opts, Base ++ [{"op", "decode"}, {"codec", "compact_text"}, {"scanner", Scanner}],
                             byte_size(Bin), F)
              end, Decoders),
            lists:foreach(
              fun({CodecName, Mod}) ->
                      case catch Mod:encode_message([], Version, Msg) of
                          {ok, Out} ->
                              F = fun() -> {ok, _} = Mod:encode_message([], Version, Msg) end,
                              report(Opts, Base ++ [{"op", "encode"}, {"codec", CodecName}],
                                     iolist_size(Out), F);
                          Err ->
                              line(Base ++ [{"op", "encode"}, {"codec", CodecName}, {"error", short(Err)}])
                      end
              end, [{"compact_text", megaco_compact_text_encoder}, {"pretty_text", megaco_pretty_text_encoder}]);
        Err ->
            line(Base ++ [{"op", "decode"}, {"error", short(Err)}])
    end.

report(Opts, Fields, Bytes, F) ->
    _ = run_for(F, maps:get(warmup_ms, Opts)),
    {Ops, Ns} = run_for(F, maps:get(time_ms, Opts)),
    Secs = Ns / 1.0e9,
    OpsPerS = Ops / Secs,
    line(Fields ++ [{"bytes", Bytes}, {"ops", Ops}, {"seconds", Secs},
                    {"ops_per_s", OpsPerS}, {"mb_per_s", OpsPerS * Bytes / 1.0e6}]).

%% Runs F repeatedly for about Ms milliseconds; returns {Count, Nanoseconds}.
run_for(F, Ms) ->
    erlang:garbage_collect(),
    T0 = erlang:monotonic_time(nanosecond),
    Until = T0 + Ms * 1000000,
    loop(F, Until, 0, T0).

loop(F, Until, N, T0) ->
    F(),
    Now = erlang:monotonic_time(nanosecond),
    case Now >= Until of
        true -> {N + 1, Now - T0};
        false -> loop(F, Until, N + 1, T0)
    end.

short(Term) ->
    S = lists:flatten(io_lib:format("~0P", [Term, 12])),
    lists:sublist(S, 300).

%% --- minimal JSON line writer
line(Fields) ->
    io:format("{~s}~n", [lists:join(",", [[json_str(K), ":", json_val(V)] || {K, V} <- Fields])]).

json_val(true) -> "true";
json_val(false) -> "false";
json_val(V) when is_integer(V) -> integer_to_list(V);
json_val(V) when is_float(V) -> io_lib:format("~.6g", [V]);
json_val(V) when is_binary(V) -> json_str(binary_to_list(V));
json_val(V) when is_list(V) -> json_str(lists:flatten(V)).

json_str(S) ->
    [$", [esc(C) || C <- lists:flatten(S)], $"].

esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc($\n) -> "\\n";
esc($\r) -> "\\r";
esc($\t) -> "\\t";
esc(C) when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> C.
