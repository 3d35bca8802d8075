import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ApiError, qs } from "../lib/api";
import { useObjectMeta } from "../lib/meta";
import type { Page, Rec } from "../lib/types";
import { FieldInput } from "./FieldInput";
import { ReferencePicker } from "./ReferencePicker";
import { ErrorBanner, Modal } from "./ui";

const FREE_MAIL = new Set(["gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com"]);

/** The domain the server matches companies by: the lead's website, else its (non free-mail) email domain. */
function leadDomain(lead: Rec): string | null {
  const site = typeof lead.website === "string" ? lead.website : "";
  if (site) {
    const host = site.split("://").pop()!.split("/")[0].toLowerCase().replace(/^www\./, "");
    if (host.includes(".")) return host;
  }
  const email = typeof lead.email === "string" ? lead.email : "";
  const d = email.includes("@") ? email.split("@").pop()!.toLowerCase() : "";
  return d && !FREE_MAIL.has(d) ? d : null;
}

interface Converted {
  lead: Rec;
  contact: Rec;
  company: Rec | null;
  deal: Rec | null;
}

/** Convert a lead: a contact (or the existing one with its email), a company matched by domain, an existing
 * one or none, and optionally a deal; all in one request, all or nothing. */
export function ConvertLeadDialog({ lead, open, onClose }: { lead: Rec; open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const deals = useObjectMeta("deals");
  const domain = leadDomain(lead);
  const [companyMode, setCompanyMode] = useState<"auto" | "existing" | "none">("auto");
  const [companyId, setCompanyId] = useState<number | null>(null);
  const [withDeal, setWithDeal] = useState(false);
  const [deal, setDeal] = useState<Record<string, unknown>>({});
  const [ownerId, setOwnerId] = useState<number | null>(typeof lead.owner_id === "number" ? lead.owner_id : null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState<Converted | null>(null);

  const match = useQuery({
    queryKey: ["company-by-domain", domain],
    enabled: open && !!domain,
    queryFn: () =>
      api<Page>(`/api/v1/companies${qs({ filter: JSON.stringify({ field: "domain", op: "eq", value: domain }), limit: 1, fields: "id,name,domain" })}`),
  });
  const matched = match.data?.items[0];
  const companyName = typeof lead.company_name === "string" ? lead.company_name : "";
  const autoText = matched
    ? `Link to the existing company “${String(matched.name)}” (matched by the domain ${domain})`
    : companyName
      ? `Create the company “${companyName}”${domain ? ` (${domain})` : ""}`
      : domain
        ? `No company matches ${domain} and the lead names none: no company`
        : "The lead names no company: no company";

  const convert = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = {};
      if (companyMode === "existing") body.company_id = companyId;
      if (companyMode === "none") body.create_company = false;
      if (withDeal) body.deal = Object.fromEntries(Object.entries(deal).filter(([, v]) => v !== null && v !== ""));
      if (ownerId !== null && ownerId !== lead.owner_id) body.owner_id = ownerId;
      return api<Converted>(`/api/v1/leads/${lead.id}/convert`, { method: "POST", body });
    },
    onSuccess: (res) => {
      setDone(res);
      qc.invalidateQueries({ queryKey: ["record", "leads", lead.id] });
      qc.invalidateQueries({ queryKey: ["list"] });
      qc.invalidateQueries({ queryKey: ["timeline", "leads", lead.id] });
      qc.invalidateQueries({ queryKey: ["history", "leads", lead.id] });
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    if (companyMode === "existing" && companyId === null) {
      setErrors({ company_id: "Choose the company." });
      return;
    }
    convert.mutate();
  };
  const dealFields = (deals.data?.fields ?? []).filter((f) => ["name", "amount", "currency", "expected_close_date", "pipeline_id", "stage_id"].includes(f.name) && f.writable);
  const dealError = (name: string) => errors[`deal.${name}`];
  const known = new Set(["company_id", "owner_id", "email", ...dealFields.map((f) => `deal.${f.name}`)]);
  const other = Object.entries(errors).filter(([k]) => !known.has(k));

  return (
    <Modal open={open} title="Convert this lead" onClose={onClose} wide>
      {done ? (
        <div className="convert-done" role="status">
          <p>The lead was converted.</p>
          <ul className="convert-results">
            <li>
              Contact: <Link to={`/o/contacts/${done.contact.id}`}>{`${done.contact.first_name ?? ""} ${done.contact.last_name ?? ""}`.trim() || `#${done.contact.id}`}</Link>
            </li>
            {done.company && (
              <li>
                Company: <Link to={`/o/companies/${done.company.id}`}>{String(done.company.name)}</Link>
              </li>
            )}
            {done.deal && (
              <li>
                Deal: <Link to={`/o/deals/${done.deal.id}`}>{String(done.deal.name)}</Link>
              </li>
            )}
          </ul>
          <div className="form-actions">
            <button type="button" className="btn btn-primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} noValidate className="convert-form">
          {convert.isError && (other.length || !Object.keys(errors).length) ? (
            <ErrorBanner error={other.length ? other.map(([k, v]) => `${k}: ${v}`).join("; ") : convert.error} />
          ) : null}
          {errors.email && <ErrorBanner error={`Contact: ${errors.email}`} />}
          <p>
            A contact is created from this lead ({[lead.first_name, lead.last_name].filter(Boolean).join(" ") || String(lead.email ?? `#${lead.id}`)}
            {lead.email ? `, ${String(lead.email)}` : ""}); if a contact with the same email exists, it is used instead.
          </p>
          <fieldset className="field radio-list">
            <legend className="field-label">Company</legend>
            <label className="check">
              <input type="radio" name="company" checked={companyMode === "auto"} onChange={() => setCompanyMode("auto")} />
              <span>{match.isLoading && domain ? "Looking for a company with this domain…" : autoText}</span>
            </label>
            <label className="check">
              <input type="radio" name="company" checked={companyMode === "existing"} onChange={() => setCompanyMode("existing")} />
              <span>Link to another existing company</span>
            </label>
            {companyMode === "existing" && (
              <div className={`field nested ${errors.company_id ? "has-error" : ""}`}>
                <label className="field-label" htmlFor="convert-company">
                  Existing company
                </label>
                <ReferencePicker object="companies" value={companyId} onChange={setCompanyId} label="Existing company" inputId="convert-company" invalid={!!errors.company_id} />
              </div>
            )}
            <label className="check">
              <input type="radio" name="company" checked={companyMode === "none"} onChange={() => setCompanyMode("none")} />
              <span>No company</span>
            </label>
            {errors.company_id && <p className="field-error">{errors.company_id}</p>}
          </fieldset>
          <div className={`field ${errors.owner_id ? "has-error" : ""}`}>
            <label className="field-label" htmlFor="convert-owner">
              Owner of the new records
            </label>
            <ReferencePicker object="users" value={ownerId} onChange={setOwnerId} label="Owner of the new records" inputId="convert-owner" invalid={!!errors.owner_id} />
            {errors.owner_id && <p className="field-error">{errors.owner_id}</p>}
          </div>
          <label className="check">
            <input type="checkbox" checked={withDeal} onChange={(e) => setWithDeal(e.target.checked)} />
            Also create a deal
          </label>
          {withDeal && (
            <fieldset className="form-section">
              <legend>Deal</legend>
              <div className="form-grid">
                {dealFields.map((f) => (
                  <FieldInput
                    key={f.name}
                    field={{ ...f, label: `Deal ${f.label.toLowerCase().replace(/^deal /, "")}`, required: false }}
                    value={deal[f.name] ?? null}
                    record={deal as Rec}
                    error={dealError(f.name)}
                    onChange={(v) => setDeal((d) => ({ ...d, [f.name]: v }))}
                  />
                ))}
              </div>
              <p className="help">Left empty, the deal is named after the company (or the person) and starts in the default pipeline's first stage.</p>
            </fieldset>
          )}
          <div className="form-actions">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={convert.isPending}>
              {convert.isPending ? "Converting…" : "Convert lead"}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
