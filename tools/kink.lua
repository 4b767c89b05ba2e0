-- kink.lua - Wireshark/tshark dissector for KINK as RFC 4430 defines it
-- (Wireshark's built-in "kink" dissector follows a 2003 draft: other
-- payload numbers, a one-octet CksumLen).  Written for Wireshark 4.0
-- (Lua 5.2).  See README.md next to this file.
--
--   tshark -X lua_script:tools/kink.lua -r f.pcap -O kink4430
--   tshark -X lua_script:... -o kink4430.port:9100 -r f.pcap
--
-- Protocol name "kink4430" (display filter prefix kink4430.*); it replaces
-- the built-in dissector on the configured UDP port (910 by default).
-- AP_REQ, AP_REP and KRB_ERROR bodies go to Wireshark's Kerberos dissector.
-- KINK_ENCRYPT stays opaque (it needs the ticket's session key:
-- tests/lib/kinkcheck.py decrypts it from a keytab).

local kink = Proto("kink4430", "KINK (RFC 4430)")

local msg_types = { [0] = "RESERVED", [1] = "CREATE", [2] = "DELETE",
	[3] = "REPLY", [4] = "GETTGT", [5] = "ACK", [6] = "STATUS" }
local pl_types = { [0] = "KINK_DONE", [1] = "KINK_AP_REQ",
	[2] = "KINK_AP_REP", [3] = "KINK_KRB_ERROR", [4] = "KINK_TGT_REQ",
	[5] = "KINK_TGT_REP", [6] = "KINK_ISAKMP", [7] = "KINK_ENCRYPT",
	[8] = "KINK_ERROR" }
local kink_errors = { [0] = "KINK_OK", [1] = "KINK_PROTOERR",
	[2] = "KINK_INVDOI", [3] = "KINK_INVMAJ", [4] = "KINK_INVMIN",
	[5] = "KINK_INTERR", [6] = "KINK_BADQMVERS" }
local isakmp_pl = { [0] = "NONE", [1] = "SA", [2] = "Proposal",
	[3] = "Transform", [4] = "Key Exchange", [5] = "Identification",
	[6] = "Certificate", [7] = "Certificate Request", [8] = "Hash",
	[9] = "Signature", [10] = "Nonce", [11] = "Notification",
	[12] = "Delete", [13] = "Vendor ID" }
local isakmp_short = { [1] = "SA", [4] = "KE", [5] = "ID", [8] = "HASH",
	[10] = "Nonce", [11] = "N", [12] = "D", [13] = "VID" }
-- RFC 2407 §4.4.1 / IANA "IPSEC Security Protocol Identifiers"
local protocol_ids = { [1] = "PROTO_ISAKMP", [2] = "PROTO_IPSEC_AH",
	[3] = "PROTO_IPSEC_ESP", [4] = "PROTO_IPCOMP" }
-- RFC 2407 §4.4.4 and IANA "IPsec ESP Transform Identifiers"
local esp_ids = { [1] = "ESP_DES_IV64", [2] = "ESP_DES", [3] = "ESP_3DES",
	[4] = "ESP_RC5", [5] = "ESP_IDEA", [6] = "ESP_CAST", [7] = "ESP_BLOWFISH",
	[8] = "ESP_3IDEA", [9] = "ESP_DES_IV32", [10] = "ESP_RC4",
	[11] = "ESP_NULL", [12] = "ESP_AES-CBC", [13] = "ESP_AES-CTR",
	[14] = "ESP_AES-CCM_8", [15] = "ESP_AES-CCM_12", [16] = "ESP_AES-CCM_16",
	[18] = "ESP_AES-GCM_8", [19] = "ESP_AES-GCM_12", [20] = "ESP_AES-GCM_16",
	[22] = "ESP_CAMELLIA", [23] = "ESP_NULL_AUTH_AES-GMAC" }
local ah_ids = { [2] = "AH_MD5", [3] = "AH_SHA", [4] = "AH_DES",
	[5] = "AH_SHA2-256", [6] = "AH_SHA2-384", [7] = "AH_SHA2-512" }
-- RFC 2407 §4.5 IPsec DOI SA attributes
local ipsec_attrs = { [1] = "SA Life Type", [2] = "SA Life Duration",
	[3] = "Group Description", [4] = "Encapsulation Mode",
	[5] = "Authentication Algorithm", [6] = "Key Length",
	[7] = "Key Rounds", [8] = "Compress Dictionary Size",
	[9] = "Compress Private Algorithm" }
local attr_values = {
	[1] = { [1] = "seconds", [2] = "kilobytes" },
	[3] = { [1] = "MODP-768", [2] = "MODP-1024", [5] = "MODP-1536",
		[14] = "MODP-2048", [15] = "MODP-3072", [16] = "MODP-4096",
		[19] = "ECP-256", [20] = "ECP-384", [21] = "ECP-521" },
	[4] = { [1] = "Tunnel", [2] = "Transport", [3] = "UDP-Encapsulated-Tunnel",
		[4] = "UDP-Encapsulated-Transport" },
	[5] = { [1] = "HMAC-MD5", [2] = "HMAC-SHA", [3] = "DES-MAC", [4] = "KPDK",
		[5] = "HMAC-SHA2-256", [6] = "HMAC-SHA2-384", [7] = "HMAC-SHA2-512",
		[9] = "AES-XCBC-MAC", [11] = "AES-128-GMAC" },
}
-- RFC 2407 §4.6.2.1 identification types
local id_types = { [1] = "ID_IPV4_ADDR", [2] = "ID_FQDN", [3] = "ID_USER_FQDN",
	[4] = "ID_IPV4_ADDR_SUBNET", [5] = "ID_IPV6_ADDR",
	[6] = "ID_IPV6_ADDR_SUBNET", [7] = "ID_IPV4_ADDR_RANGE",
	[8] = "ID_IPV6_ADDR_RANGE", [9] = "ID_DER_ASN1_DN", [10] = "ID_DER_ASN1_GN",
	[11] = "ID_KEY_ID" }
-- RFC 2408 §3.14.1 and RFC 2407 §4.6.3 notify types (the ones QM uses)
local notify_types = { [1] = "INVALID-PAYLOAD-TYPE", [2] = "DOI-NOT-SUPPORTED",
	[3] = "SITUATION-NOT-SUPPORTED", [4] = "INVALID-COOKIE",
	[5] = "INVALID-MAJOR-VERSION", [6] = "INVALID-MINOR-VERSION",
	[7] = "INVALID-EXCHANGE-TYPE", [8] = "INVALID-FLAGS",
	[9] = "INVALID-MESSAGE-ID", [10] = "INVALID-PROTOCOL-ID",
	[11] = "INVALID-SPI", [12] = "INVALID-TRANSFORM-ID",
	[13] = "ATTRIBUTES-NOT-SUPPORTED", [14] = "NO-PROPOSAL-CHOSEN",
	[15] = "BAD-PROPOSAL-SYNTAX", [16] = "PAYLOAD-MALFORMED",
	[17] = "INVALID-KEY-INFORMATION", [18] = "INVALID-ID-INFORMATION",
	[24] = "AUTHENTICATION-FAILED", [30] = "UNEQUAL-PAYLOAD-LENGTHS",
	[24576] = "RESPONDER-LIFETIME", [24577] = "REPLAY-STATUS",
	[24578] = "INITIAL-CONTACT" }

local F = ProtoField
local f = {
	type = F.uint8("kink4430.type", "Type", base.DEC, msg_types),
	version = F.uint8("kink4430.version", "Version", base.HEX),
	mjver = F.uint8("kink4430.version.major", "Major version", base.DEC, nil, 0xf0),
	mnver = F.uint8("kink4430.version.minor", "Minor version", base.DEC, nil, 0x0f),
	length = F.uint16("kink4430.length", "Length", base.DEC),
	doi = F.uint32("kink4430.doi", "Domain of Interpretation", base.DEC, { [1] = "IPsec" }),
	xid = F.uint32("kink4430.xid", "Transaction ID (XID)", base.HEX),
	next = F.uint8("kink4430.next_payload", "Next payload", base.DEC, pl_types),
	flags = F.uint8("kink4430.flags", "Flags", base.HEX),
	ackreq = F.bool("kink4430.flags.ackreq", "ACKREQ", 8, nil, 0x80),
	reserved2 = F.uint8("kink4430.flags.reserved", "RESERVED2", base.HEX, nil, 0x7f),
	cksum_len = F.uint16("kink4430.cksum_len", "CksumLen", base.DEC),
	cksum = F.bytes("kink4430.cksum", "Cksum"),

	pl = F.bytes("kink4430.payload", "Payload"),
	pl_type = F.uint8("kink4430.payload.type", "Payload type", base.DEC, pl_types),
	pl_next = F.uint8("kink4430.payload.next", "Next payload", base.DEC, pl_types),
	pl_res = F.uint8("kink4430.payload.reserved", "RESERVED", base.HEX),
	pl_len = F.uint16("kink4430.payload.length", "Payload length", base.DEC),
	pl_pad = F.bytes("kink4430.payload.padding", "Padding"),
	epoch = F.uint32("kink4430.epoch", "EPOCH", base.DEC),
	epoch_time = F.absolute_time("kink4430.epoch_time", "EPOCH as time", base.UTC),
	krb = F.bytes("kink4430.krb", "Kerberos message"),
	tgt_req = F.bytes("kink4430.tgt_req", "TGT_REQ body (PrincName, RealmName)"),
	tgt_rep = F.bytes("kink4430.tgt_rep", "TGT_REP body (DER TGT)"),
	isa_next = F.uint8("kink4430.isakmp.inner_next", "InnerNextPload", base.DEC, isakmp_pl),
	qmver = F.uint8("kink4430.isakmp.qmversion", "QMVersion", base.HEX),
	isa_res = F.uint16("kink4430.isakmp.reserved", "RESERVED", base.HEX),
	enc_data = F.bytes("kink4430.encrypt.data", "Encrypted (InnerNextPload, RESERVED2, payloads; RFC 3961, key usage 39)"),
	error = F.uint32("kink4430.error", "ErrorCode", base.DEC, kink_errors),

	q = F.bytes("kink4430.qm.payload", "Quick Mode payload"),
	q_type = F.uint8("kink4430.qm.type", "Payload type", base.DEC, isakmp_pl),
	q_next = F.uint8("kink4430.qm.next", "Next payload", base.DEC, isakmp_pl),
	q_res = F.uint8("kink4430.qm.reserved", "RESERVED", base.HEX),
	q_len = F.uint16("kink4430.qm.length", "Payload length", base.DEC),
	q_doi = F.uint32("kink4430.qm.doi", "DOI", base.DEC, { [1] = "IPsec" }),
	q_sit = F.uint32("kink4430.qm.situation", "Situation", base.HEX),
	q_pnum = F.uint8("kink4430.qm.proposal.number", "Proposal number", base.DEC),
	q_proto = F.uint8("kink4430.qm.protocol", "Protocol ID", base.DEC, protocol_ids),
	q_spisz = F.uint8("kink4430.qm.spi_size", "SPI size", base.DEC),
	q_ntr = F.uint8("kink4430.qm.proposal.transforms", "Number of transforms", base.DEC),
	q_spi = F.bytes("kink4430.qm.spi", "SPI"),
	q_tnum = F.uint8("kink4430.qm.transform.number", "Transform number", base.DEC),
	q_tid = F.uint8("kink4430.qm.transform.id", "Transform ID", base.DEC),
	q_tres = F.uint16("kink4430.qm.transform.reserved", "RESERVED2", base.HEX),
	q_attr = F.bytes("kink4430.qm.attr", "Attribute"),
	q_atype = F.uint16("kink4430.qm.attr.type", "Attribute type", base.DEC, ipsec_attrs, 0x7fff),
	q_af = F.bool("kink4430.qm.attr.af", "Basic (TV)", 16, nil, 0x8000),
	q_aval = F.uint32("kink4430.qm.attr.value", "Value", base.DEC),
	q_aval_b = F.bytes("kink4430.qm.attr.value_bytes", "Value"),
	q_data = F.bytes("kink4430.qm.data", "Data"),
	q_idtype = F.uint8("kink4430.qm.id.type", "ID type", base.DEC, id_types),
	q_idproto = F.uint8("kink4430.qm.id.protocol", "Protocol ID", base.DEC),
	q_idport = F.uint16("kink4430.qm.id.port", "Port", base.DEC),
	q_id4 = F.ipv4("kink4430.qm.id.ipv4", "IPv4 address"),
	q_id6 = F.ipv6("kink4430.qm.id.ipv6", "IPv6 address"),
	q_ntype = F.uint16("kink4430.qm.notify.type", "Notify message type", base.DEC, notify_types),
	q_nspi = F.uint16("kink4430.qm.delete.nspi", "Number of SPIs", base.DEC),
}
local fl = {}
for _, v in pairs(f) do fl[#fl + 1] = v end
kink.fields = fl

local E = ProtoExpert.new
local ex = {
	malformed = E("kink4430.malformed", "Malformed KINK message",
		expert.group.MALFORMED, expert.severity.ERROR),
	length = E("kink4430.bad_length", "Length does not match the datagram",
		expert.group.MALFORMED, expert.severity.ERROR),
	cksum_len = E("kink4430.bad_cksum_len", "CksumLen beyond the message",
		expert.group.MALFORMED, expert.severity.ERROR),
	pl_len = E("kink4430.bad_payload_length", "Bad payload length",
		expert.group.MALFORMED, expert.severity.ERROR),
	padding = E("kink4430.bad_padding", "Padding missing or not zero",
		expert.group.MALFORMED, expert.severity.ERROR),
	trailing = E("kink4430.trailing", "Octets after the last payload",
		expert.group.MALFORMED, expert.severity.ERROR),
	unknown = E("kink4430.unknown_payload", "Unknown payload type",
		expert.group.MALFORMED, expert.severity.ERROR),
	dup = E("kink4430.duplicate_payload", "Payload type appears twice",
		expert.group.PROTOCOL, expert.severity.WARN),
	enc_last = E("kink4430.encrypt_not_last", "KINK_ENCRYPT is not the last payload",
		expert.group.MALFORMED, expert.severity.ERROR),
	version = E("kink4430.bad_version", "Unsupported KINK version",
		expert.group.PROTOCOL, expert.severity.WARN),
	doi = E("kink4430.bad_doi", "DOI is not IPsec (1)",
		expert.group.PROTOCOL, expert.severity.WARN),
	msgtype = E("kink4430.bad_type", "Reserved or unknown message type",
		expert.group.PROTOCOL, expert.severity.WARN),
	no_cksum = E("kink4430.no_cksum", "AP_REQ/AP_REP without Cksum",
		expert.group.SECURITY, expert.severity.WARN),
	qmver = E("kink4430.bad_qmversion", "QMVersion is not 1.0",
		expert.group.PROTOCOL, expert.severity.WARN),
	qm = E("kink4430.qm_malformed", "Malformed Quick Mode payload",
		expert.group.MALFORMED, expert.severity.ERROR),
	error = E("kink4430.error_code", "KINK_ERROR",
		expert.group.RESPONSE_CODE, expert.severity.NOTE),
}
local exl = {}
for _, v in pairs(ex) do exl[#exl + 1] = v end
kink.experts = exl

kink.prefs.port = Pref.uint("UDP port", 910, "UDP port of KINK (RFC 4430 §4: 910)")

local krb_dissector = nil
local function kerberos(tvb, pinfo, tree)
	if krb_dissector == nil then
		-- Kerberos has no dissector registered by name in 4.0: take
		-- the UDP one from its port
		krb_dissector = DissectorTable.get("udp.port"):get_dissector(88) or false
	end
	if krb_dissector and tvb:len() > 0 then
		-- keep the protocol and info columns KINK's
		local proto_col = tostring(pinfo.cols.protocol)
		local info_col = tostring(pinfo.cols.info)
		pcall(function() krb_dissector:call(tvb, pinfo, tree) end)
		pinfo.cols.protocol:set(proto_col)
		pinfo.cols.info:set(info_col)
	end
end

-- IKEv1 SA attributes of a transform (RFC 2408 §3.3, RFC 2407 §4.5)
local function attributes(tvb, tree, off, stop)
	while off < stop do
		if stop - off < 4 then
			tree:add_proto_expert_info(ex.qm, "truncated attribute")
			return
		end
		local t = tvb(off, 2):uint()
		local atype = bit32.band(t, 0x7fff)
		local name = ipsec_attrs[atype] or ("attribute " .. atype)
		local alen, value, vtext
		if bit32.band(t, 0x8000) ~= 0 then
			alen = 4
			value = tvb(off + 2, 2):uint()
		else
			local l = tvb(off + 2, 2):uint()
			alen = 4 + l
			if off + alen > stop then
				tree:add_proto_expert_info(ex.qm, "attribute length beyond the transform")
				return
			end
			if l >= 1 and l <= 4 then value = tvb(off + 4, l):uint() end
		end
		vtext = value and ((attr_values[atype] and attr_values[atype][value]) or tostring(value)) or "(long)"
		local at = tree:add(f.q_attr, tvb(off, alen))
		at:set_text(name .. ": " .. vtext)
		at:add(f.q_af, tvb(off, 2))
		at:add(f.q_atype, tvb(off, 2))
		if bit32.band(t, 0x8000) ~= 0 then
			at:add(f.q_aval, tvb(off + 2, 2), value)
		elseif value then
			at:add(f.q_aval, tvb(off + 4, alen - 4), value)
		else
			at:add(f.q_aval_b, tvb(off + 4, alen - 4))
		end
		off = off + alen
	end
end

-- one IKEv1 payload chain (RFC 2408 §3.2); returns a summary string
local qm_chain
local function qm_payload(tvb, tree, ptype, off, plen, proto_id)
	local body, stop = off + 4, off + plen
	local summary = isakmp_short[ptype] or isakmp_pl[ptype] or ("?" .. ptype)
	if ptype == 1 then -- SA (RFC 2408 §3.4, RFC 2407 §4.6.1)
		if plen < 12 then tree:add_proto_expert_info(ex.qm, "SA too short"); return summary end
		tree:add(f.q_doi, tvb(body, 4))
		tree:add(f.q_sit, tvb(body + 4, 4))
		local inner = qm_chain(tvb, tree, 2, body + 8, stop, true)
		summary = summary .. "(" .. inner .. ")"
	elseif ptype == 2 then -- Proposal (§3.5)
		if plen < 8 then tree:add_proto_expert_info(ex.qm, "proposal too short"); return summary end
		local spisz = tvb(body + 2, 1):uint()
		local proto = tvb(body + 1, 1):uint()
		tree:add(f.q_pnum, tvb(body, 1))
		tree:add(f.q_proto, tvb(body + 1, 1))
		tree:add(f.q_spisz, tvb(body + 2, 1))
		tree:add(f.q_ntr, tvb(body + 3, 1))
		if body + 4 + spisz > stop then
			tree:add_proto_expert_info(ex.qm, "SPI beyond the proposal")
			return summary
		end
		local spi = ""
		if spisz > 0 then
			tree:add(f.q_spi, tvb(body + 4, spisz))
			spi = " spi " .. tostring(tvb(body + 4, spisz):bytes())
		end
		local inner = qm_chain(tvb, tree, 3, body + 4 + spisz, stop, true, proto)
		summary = "P#" .. tvb(body, 1):uint() .. " " ..
			(protocol_ids[proto] or proto) .. spi .. " [" .. inner .. "]"
	elseif ptype == 3 then -- Transform (§3.6)
		if plen < 8 then tree:add_proto_expert_info(ex.qm, "transform too short"); return summary end
		local tid = tvb(body + 1, 1):uint()
		local names = proto_id == 2 and ah_ids or esp_ids
		tree:add(f.q_tnum, tvb(body, 1))
		tree:add(f.q_tid, tvb(body + 1, 1)):append_text(" (" .. (names[tid] or "?") .. ")")
		tree:add(f.q_tres, tvb(body + 2, 2))
		attributes(tvb, tree, body + 4, stop)
		summary = "T#" .. tvb(body, 1):uint() .. " " .. (names[tid] or tid)
	elseif ptype == 4 or ptype == 10 then -- KE, Nonce
		tree:add(f.q_data, tvb(body, plen - 4))
		summary = summary .. "(" .. (plen - 4) .. ")"
	elseif ptype == 5 then -- ID (RFC 2407 §4.6.2)
		if plen < 8 then tree:add_proto_expert_info(ex.qm, "ID too short"); return summary end
		local idt = tvb(body, 1):uint()
		tree:add(f.q_idtype, tvb(body, 1))
		tree:add(f.q_idproto, tvb(body + 1, 1))
		tree:add(f.q_idport, tvb(body + 2, 2))
		local d, dl = body + 4, plen - 8
		if (idt == 1 or idt == 4 or idt == 7) and dl >= 4 then
			tree:add(f.q_id4, tvb(d, 4))
			if dl >= 8 then tree:add(f.q_id4, tvb(d + 4, 4)) end
			summary = summary .. "(" .. tostring(tvb(d, 4):ipv4()) ..
				(dl >= 8 and ("/" .. tostring(tvb(d + 4, 4):ipv4())) or "") .. ")"
		elseif (idt == 5 or idt == 6 or idt == 8) and dl >= 16 then
			tree:add(f.q_id6, tvb(d, 16))
			if dl >= 32 then tree:add(f.q_id6, tvb(d + 16, 16)) end
			summary = summary .. "(" .. tostring(tvb(d, 16):ipv6()) ..
				(dl >= 32 and ("/" .. tostring(tvb(d + 16, 16):ipv6())) or "") .. ")"
		elseif dl > 0 then
			tree:add(f.q_data, tvb(d, dl))
		end
	elseif ptype == 11 or ptype == 12 then -- Notify (§3.14), Delete (§3.15)
		if plen < 12 then tree:add_proto_expert_info(ex.qm, "payload too short"); return summary end
		local spisz = tvb(body + 5, 1):uint()
		tree:add(f.q_doi, tvb(body, 4))
		tree:add(f.q_proto, tvb(body + 4, 1))
		tree:add(f.q_spisz, tvb(body + 5, 1))
		if ptype == 11 then
			local nt = tvb(body + 6, 2):uint()
			tree:add(f.q_ntype, tvb(body + 6, 2))
			if body + 8 + spisz > stop then
				tree:add_proto_expert_info(ex.qm, "SPI beyond the payload")
				return summary
			end
			if spisz > 0 then tree:add(f.q_spi, tvb(body + 8, spisz)) end
			if stop > body + 8 + spisz then
				tree:add(f.q_data, tvb(body + 8 + spisz, stop - body - 8 - spisz))
			end
			summary = summary .. "(" .. (notify_types[nt] or nt) .. ")"
		else
			local n = tvb(body + 6, 2):uint()
			tree:add(f.q_nspi, tvb(body + 6, 2))
			if body + 8 + n * spisz ~= stop then
				tree:add_proto_expert_info(ex.qm, "SPI count does not match the length")
			end
			local p = body + 8
			for _ = 1, n do
				if p + spisz > stop or spisz == 0 then break end
				tree:add(f.q_spi, tvb(p, spisz))
				p = p + spisz
			end
			summary = summary .. "(" .. n .. " SPI)"
		end
	elseif plen > 4 then
		tree:add(f.q_data, tvb(body, plen - 4))
	end
	return summary
end

qm_chain = function(tvb, tree, first, off, stop, nested, proto_id)
	local t, parts = first, {}
	while t ~= 0 do
		if stop - off < 4 then
			tree:add_proto_expert_info(ex.qm, "truncated payload header")
			break
		end
		local nxt, plen = tvb(off, 1):uint(), tvb(off + 2, 2):uint()
		if plen < 4 or off + plen > stop then
			local it = tree:add(f.q_len, tvb(off + 2, 2))
			it:add_proto_expert_info(ex.qm, "payload length " .. plen .. " beyond its container")
			break
		end
		local st = tree:add(f.q, tvb(off, plen))
		st:set_text((isakmp_pl[t] or ("payload " .. t)) .. " payload")
		st:add(f.q_type, t):set_generated()
		st:add(f.q_next, tvb(off, 1))
		st:add(f.q_res, tvb(off + 1, 1))
		st:add(f.q_len, tvb(off + 2, 2))
		parts[#parts + 1] = qm_payload(tvb, st, t, off, plen, proto_id)
		off = off + plen
		t = nxt
		if nested and t ~= 2 and t ~= 3 and t ~= 0 then
			tree:add_proto_expert_info(ex.qm, "next payload " .. t .. " inside SA")
			break
		end
	end
	if off ~= stop then
		tree:add_proto_expert_info(ex.qm, (stop - off) .. " octets after the last payload")
	end
	return table.concat(parts, nested and ", " or " ")
end

local function pl_body(tvb, pinfo, tree, ptype, off, plen, names)
	local body, blen = off + 4, plen - 4
	if ptype == 1 or ptype == 2 then -- AP_REQ / AP_REP: EPOCH | DER
		if blen < 4 then
			tree:add_proto_expert_info(ex.pl_len, "no room for EPOCH")
			return
		end
		tree:add(f.epoch, tvb(body, 4))
		tree:add(f.epoch_time, tvb(body, 4), NSTime.new(tvb(body, 4):uint(), 0)):set_generated()
		if blen > 4 then
			local sub = tree:add(f.krb, tvb(body + 4, blen - 4))
			kerberos(tvb(body + 4, blen - 4):tvb(), pinfo, sub)
		end
	elseif ptype == 3 then
		if blen > 0 then
			local sub = tree:add(f.krb, tvb(body, blen))
			kerberos(tvb(body, blen):tvb(), pinfo, sub)
		end
	elseif ptype == 4 then
		if blen > 0 then tree:add(f.tgt_req, tvb(body, blen)) end
	elseif ptype == 5 then
		if blen > 0 then tree:add(f.tgt_rep, tvb(body, blen)) end
	elseif ptype == 6 then -- ISAKMP (§5.2.6)
		if blen < 4 then
			tree:add_proto_expert_info(ex.pl_len, "KINK_ISAKMP shorter than 4 octets")
			return
		end
		tree:add(f.isa_next, tvb(body, 1))
		local qi = tree:add(f.qmver, tvb(body + 1, 1))
		if tvb(body + 1, 1):uint() ~= 0x10 then qi:add_proto_expert_info(ex.qmver) end
		tree:add(f.isa_res, tvb(body + 2, 2))
		local s = qm_chain(tvb, tree, tvb(body, 1):uint(), body + 4, off + plen, false)
		names[#names] = names[#names] .. "{" .. s .. "}"
	elseif ptype == 7 then -- ENCRYPT (§5.2.8)
		if blen > 0 then tree:add(f.enc_data, tvb(body, blen)) end
	elseif ptype == 8 then -- ERROR (§5.2.9)
		if blen ~= 4 then
			tree:add_proto_expert_info(ex.pl_len, "KINK_ERROR must be 4 octets")
			return
		end
		local code = tvb(body, 4):uint()
		tree:add(f.error, tvb(body, 4)):add_proto_expert_info(ex.error,
			"KINK_ERROR " .. (kink_errors[code] or code))
		names[#names] = names[#names] .. "(" .. (kink_errors[code] or code) .. ")"
	end
end

function kink.dissector(tvb, pinfo, tree)
	local len = tvb:len()
	pinfo.cols.protocol:set("KINK")
	local root = tree:add(kink, tvb(0, len))
	if len < 16 then
		root:add_proto_expert_info(ex.malformed, "shorter than the 16-octet header")
		return len
	end
	local mtype = tvb(0, 1):uint()
	local ver = tvb(1, 1):uint()
	local mlen = tvb(2, 2):uint()
	local xid = tvb(8, 4):uint()
	local first = tvb(12, 1):uint()
	local flags = tvb(13, 1):uint()
	local cklen = tvb(14, 2):uint()

	local ti = root:add(f.type, tvb(0, 1))
	if not msg_types[mtype] or mtype == 0 then ti:add_proto_expert_info(ex.msgtype) end
	local vt = root:add(f.version, tvb(1, 1))
	vt:add(f.mjver, tvb(1, 1))
	vt:add(f.mnver, tvb(1, 1))
	if ver ~= 0x10 then vt:add_proto_expert_info(ex.version) end
	local lt = root:add(f.length, tvb(2, 2))
	local dt = root:add(f.doi, tvb(4, 4))
	if tvb(4, 4):uint() ~= 1 then dt:add_proto_expert_info(ex.doi) end
	root:add(f.xid, tvb(8, 4))
	root:add(f.next, tvb(12, 1))
	local ft = root:add(f.flags, tvb(13, 1))
	ft:add(f.ackreq, tvb(13, 1))
	ft:add(f.reserved2, tvb(13, 1))
	local ct = root:add(f.cksum_len, tvb(14, 2))

	local info = string.format("%s XID 0x%08x", msg_types[mtype] or ("type " .. mtype), xid)
	if bit32.band(flags, 0x80) ~= 0 then info = info .. " ACKREQ" end

	if mlen ~= len then
		lt:add_proto_expert_info(ex.length, "Length " .. mlen .. ", datagram " .. len)
		if mlen > len or mlen < 16 then
			pinfo.cols.info:set(info .. " [bad length]")
			return len
		end
	end
	if cklen > mlen - 16 then
		ct:add_proto_expert_info(ex.cksum_len)
		pinfo.cols.info:set(info .. " [bad CksumLen]")
		return len
	end
	local stop = mlen - cklen -- payloads (and their padding) end here
	local off, t, names, seen = 16, first, {}, {}
	while t ~= 0 do
		if stop - off < 4 then
			root:add_proto_expert_info(ex.pl_len, "truncated payload header")
			break
		end
		local nxt = tvb(off, 1):uint()
		local plen = tvb(off + 2, 2):uint()
		if plen < 4 or off + plen > stop then
			local it = root:add(f.pl_len, tvb(off + 2, 2))
			it:add_proto_expert_info(ex.pl_len, "payload length " .. plen .. " beyond the message")
			break
		end
		local pt = root:add(f.pl, tvb(off, plen))
		pt:set_text((pl_types[t] or ("unknown payload " .. t)) .. " (" .. plen .. " octets)")
		pt:add(f.pl_type, t):set_generated()
		pt:add(f.pl_next, tvb(off, 1))
		pt:add(f.pl_res, tvb(off + 1, 1))
		pt:add(f.pl_len, tvb(off + 2, 2))
		names[#names + 1] = (pl_types[t] or ("?" .. t)):gsub("^KINK_", "")
		if not pl_types[t] or t == 0 then pt:add_proto_expert_info(ex.unknown) end
		if seen[t] then pt:add_proto_expert_info(ex.dup) end
		seen[t] = true
		if t == 7 and nxt ~= 0 then pt:add_proto_expert_info(ex.enc_last) end
		pl_body(tvb, pinfo, pt, t, off, plen, names)
		off = off + plen
		-- §5.2: each payload padded to 4 octets (the padding is not
		-- counted in PayloadLength)
		local pad = (4 - plen % 4) % 4
		if pad > 0 then
			if off + pad > stop then
				if nxt ~= 0 then pt:add_proto_expert_info(ex.padding, "padding missing") end
				pad = stop - off
			end
			if pad > 0 then
				local pi = pt:add(f.pl_pad, tvb(off, pad))
				for i = 0, pad - 1 do
					if tvb(off + i, 1):uint() ~= 0 then
						pi:add_proto_expert_info(ex.padding, "padding not zero")
						break
					end
				end
			end
			off = off + pad
		end
		t = nxt
	end
	if off < stop then
		root:add_proto_expert_info(ex.trailing, (stop - off) .. " octets before the Cksum belong to no payload")
	end
	if cklen > 0 then
		root:add(f.cksum, tvb(stop, cklen))
	elseif seen[1] or seen[2] then
		root:add_proto_expert_info(ex.no_cksum)
	end
	info = info .. " [" .. table.concat(names, " ") .. "]"
	if cklen > 0 then info = info .. " Cksum" end
	pinfo.cols.info:set(info)
	root:append_text(", " .. info)
	return len
end

local registered = nil
function kink.prefs_changed()
	local udp = DissectorTable.get("udp.port")
	if registered then udp:remove(registered, kink) end
	registered = kink.prefs.port
	udp:add(registered, kink)
end

DissectorTable.get("udp.port"):add(kink.prefs.port, kink)
registered = kink.prefs.port
